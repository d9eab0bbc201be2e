// Benchmarks: the kernels of a device timed on real layer shapes against peers (other libraries'
// GEMMs, run in the same process on the same shapes), with this machine's floors next to every
// time. `qlinear bench` is the command-line front end.
//
// Two seams, one implementation per device type or platform, listed in src/bench/bench_list.cpp:
//   BenchDevice  how a device is timed (CPU: steady_clock around the call; CUDA: events on the
//                stream), its measured read bandwidth, its memory budget for weight copies and
//                its peak rates (the compute floor);
//   Peer         a baseline GEMM (CPU: oneDNN bf16 dense for every family, oneDNN int8 with
//                constant and with runtime scales for int8_scaled_mm).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qlinear/kernel.hpp"
#include "qlinear/tuning.hpp"

namespace qlinear::bench {

// Timing, bandwidth, memory budget and peak rates of one device.
class BenchDevice {
 public:
  virtual ~BenchDevice() = default;
  // One line: what the device is, e.g. "cpu: AMD EPYC ..., 2 threads, cpu:avx512_vnni".
  virtual std::string describe() const = 0;
  // Calls body(i, stream) for i = 0 .. warmup + reps - 1 and returns the times of the last `reps`
  // calls in microseconds, each one call measured on its own on this device's clock (the body
  // issues work on `stream`; the timer waits for it).
  virtual std::vector<double> time(const std::function<void(int, Stream)>& body, int warmup,
                                   int reps) = 0;
  // The device memory's read bandwidth in GB/s (1e9 B/s), measured now on a buffer far larger
  // than the caches.
  virtual double measure_read_bandwidth() = 0;
  // Bytes the bench may spend on weight copies for rotation, all cases of a shape together.
  virtual int64_t copy_budget_bytes() const = 0;
  // Peak dense rate in ops/s (a multiply-add is 2 ops) for products in `multiply_type`: the
  // activation type a kernel multiplies in (int8, float8_e4m3fn, bf16, ...).
  virtual double peak_ops(ScalarType multiply_type) const = 0;
  // Where the peak rates come from (table and clock), printed with every run.
  virtual std::string peak_source() const = 0;
};

// One peer set up for one layer shape, with its weight copies.
class PeerCase {
 public:
  virtual ~PeerCase() = default;
  // Inputs and outputs for M rows (not timed).
  virtual void prepare_m(int64_t m) = 0;
  // One product of the M rows with weight copy `copy`, issued on `stream`.
  virtual void run(int copy, Stream stream) = 0;
  // Weight + activation + output bytes one product of M rows reads and writes.
  virtual int64_t bytes(int64_t m) const = 0;
  // The library's own name for what runs, e.g. oneDNN's "brg:avx512_core_vnni" (may be empty).
  virtual std::string implementation(int64_t m) const = 0;
};

class Peer {
 public:
  virtual ~Peer() = default;
  virtual const std::string& name() const = 0;
  // The type it multiplies in (for the compute floor).
  virtual ScalarType multiply_type() const = 0;
  // Is it a baseline for layers like `config` on `platform`? If not, why.
  virtual Verdict applies(const LayerConfig& config, const Platform& platform) const = 0;
  // Bytes of one weight copy in its own layout, for a layer of `config`'s partition shape.
  virtual int64_t weight_bytes(const LayerConfig& config) const = 0;
  // The product [M, part_k] x [part_n, part_k]ᵀ with `copies` distinct weight copies on `device`.
  virtual std::unique_ptr<PeerCase> prepare(const LayerConfig& config, int copies,
                                            Device device) const = 0;
};

// ---- registration (the built-in ones are listed in src/bench/bench_list.cpp)
using BenchDeviceFactory = std::function<std::unique_ptr<BenchDevice>(Device)>;
// Replaces any factory registered for the type.
void register_bench_device(DeviceType type, BenchDeviceFactory factory);
// Appends to the platform's peer list; the list order is the order of preference for the
// baseline (most specific first). Throws if a peer of that name is already registered.
void register_peer(PlatformKind platform, std::shared_ptr<const Peer> peer);
// Throws qlinear::Error saying why when no bench device is registered for the type (e.g. a build
// without CUDA asked for cuda).
std::unique_ptr<BenchDevice> make_bench_device(Device device);
std::vector<const Peer*> peers(PlatformKind platform);

// ---- layer shapes
struct Shape {
  std::string name;                          // "qkv", "o", ... or "NxK"
  int64_t n = 0, k = 0;                      // full layer
  int64_t partition_n = 0, partition_k = 0;  // this tensor-parallel rank (0: the full size)
};
// Real layers: "llama3-8b" (qkv, o, gate_up, down), "llama3-70b-tp8" (the same layers of
// Llama 3 70B split over 8 ranks). Throws listing the presets for an unknown name.
std::vector<Shape> preset(std::string_view name);
std::vector<std::string> preset_names();
// "4096x14336" -> N = 4096, K = 14336.
Shape parse_shape(std::string_view text);

// ---- runs
struct Options {
  Device device;
  std::vector<LayerConfig> configs;  // one per layer to time (family variant and shape)
  // Kernel names. Empty: each provider's first kernel (priority order) that runs the config, as
  // selection would pick within the provider, the reference aside. {"all"}: every kernel that
  // runs it but the reference.
  std::vector<std::string> kernels;
  std::vector<int64_t> m_values{1, 16, 64, 256};
  int reps = 30;
  int warmup = 5;
  // Bytes of weight copies each case rotates over; 0: the same weights every call.
  int64_t rotate_bytes = int64_t{1} << 30;
  std::string baseline;  // a peer name; empty: the first peer in the platform's list that applies
  uint64_t seed = 1;
  bool peers = true;  // time the peers (false: the kernels alone)
  // 0: every kernel at every M. r > 1: a kernel slower than r times the fastest kernel at one M is
  // not timed at the M values after it (they run in the order given) until the fastest kernel's
  // time there reaches 1/r of its own (a kernel takes no less time at more tokens).
  double prune_ratio = 0;
  // 0: every case makes `reps` timed calls at every M. s > 0: a case whose calls took t seconds at
  // the M before makes s / t of them (at least 3, at most `reps`): the long calls at large M,
  // whose medians settle in fewer calls, stop dominating a run (`qlinear tune` on the CPU).
  double seconds_per_case = 0;
};

struct Record {
  std::string kernel;  // a kernel or a peer
  bool peer = false;
  std::string family, device, config, implementation;
  int64_t m = 0, n = 0, k = 0;
  int copies = 1;               // weight copies rotated over
  double us = 0;                // median time of one call
  double us_min = 0;            // fastest call (less sensitive to other load on a shared machine)
  double tflops = 0;            // 2·M·N·K / us
  double gbs = 0;               // bytes moved / us (GB = 1e9 B)
  double memory_floor_us = 0;   // bytes / measured read bandwidth
  double compute_floor_us = 0;  // 2·M·N·K / peak rate
  double floor_us = 0;          // max of the two
  std::string baseline;
  double baseline_us = 0;
  double speedup = 0;                      // baseline_us / us
  std::map<std::string, double> peers_us;  // every peer measured at this layer and M
};

struct Run {
  std::string device;  // BenchDevice::describe()
  double read_gbs = 0;
  std::string peak_source;
  std::vector<std::string> notes;  // kernels or peers passed over, and why
  std::vector<Record> records;
  // Wall seconds outside the timing: making the random layers (on the host) and preparing every
  // case's weight copies (process_weights on the device, once per copy).
  double make_layers_s = 0, prepare_s = 0, total_s = 0;
};

// Times every (config, M) for every peer that applies and every kernel asked for. Rows reach
// `on_record` as they are measured (peers of a layer and M first, so each row is complete).
Run run(const Options& options, const std::function<void(const Record&)>& on_record = {});

// ---- tuning (`qlinear tune`)
// The kernels a tuned plan for `config` on `platform` may be made of: every kernel of the platform
// that can run it, the reference and composites aside, and kernels that keep a dense copy of the
// weights only where the priority list's own plan already runs one (W4A8's emulation past its mma
// kernel: a table without it would trade the layer's prefill for memory the default spends anyway).
std::vector<std::string> tune_candidates(const LayerConfig& config, const Platform& platform);

// Every kernel of tune_candidates for each config of `options`, timed at every M of `options` in
// increasing order (no peers; pruned by options.prune_ratio). Each config's fastest
// plan, with the times it was chosen from, goes into `table` (a table of this device; an entry of
// the same layer is replaced) as it is made; then `on_config` hears it, with the run that timed it.
void tune(
    const Options& options, TuningTable& table,
    const std::function<void(const LayerConfig&, const TunedEntry&, const Run&)>& on_config = {});

// ---- tensor-parallel runs (`qlinear bench --tp-size S`)
struct ParallelRecord {
  std::string config, split, kernel;  // kernel: rank 0's choice for its shard
  int size = 1;
  int64_t m = 0, n = 0, k = 0;  // the whole layer
  double us = 0;        // median wall time of one forward on every rank, collective included
  double shard_us = 0;  // the same for the shards' products alone (no collective, no bias step)
  double collective_share = 0;  // 1 - shard_us / us
};
// Every config of `options` (its M values, reps and warm-up; the weights are not rotated), split
// by columns (gathered) and by rows over `size` ranks: threads of this process, the in-process
// group on the CPU, NCCL over cuda:0 … cuda:size-1 on GPUs. Each timed call starts at a barrier of
// the ranks and ends when the slowest rank's device has finished (a synchronising copy).
struct ParallelRun {
  std::vector<ParallelRecord> records;
  std::vector<std::string> notes;  // splits passed over, and why
};
ParallelRun run_parallel(const Options& options, int size,
                         const std::function<void(const ParallelRecord&)>& on_record = {});

}  // namespace qlinear::bench
