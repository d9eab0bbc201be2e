// `qlinear bench --load-model DIR` (see load_bench.hpp).
#include "load_bench.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <vector>

#include "qlinear/bench.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"
#include "qlinear/files.hpp"
#include "qlinear/linear.hpp"

namespace qlinear::tool {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds of the whole process (every thread).
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// A phase's wall time and the CPU time it consumed: on a machine shared with other work, the CPU
// time moves less with the others' load than the wall time does.
struct Elapsed {
  double wall_s = 0, cpu_s = 0;
};

class Stopwatch {
 public:
  void add_to(Elapsed& e) const {
    e.wall_s += seconds_since(wall_);
    e.cpu_s += process_cpu_seconds() - cpu_;
  }

 private:
  Clock::time_point wall_ = Clock::now();
  double cpu_ = process_cpu_seconds();
};

// Wall times of the phases; convert and prepare overlap (below), so the CPU time is the whole
// process's over both.
struct LoadTimes {
  double open_s = 0, convert_s = 0, prepare_s = 0;
  double upload_s = 0;  // of prepare: the converted tensors copied to the device (none on the CPU)
  Elapsed layers;       // every layer converted and prepared, the two overlapped
  int layers_count = 0;
  int64_t weights = 0;
};

// One layer converted to the canonical layout (load_layer), and the wall time it took.
struct Converted {
  checkpoint::CheckpointLayer layer;
  double seconds = 0;
};

// Every prepared layer is kept until the pass ends, as a model holds them: a kernel's layout is
// then always fresh memory, as it is in a real load. (Dropping each layer before the next let
// the allocator hand the next layer the pages just freed, and timed 2-3x less than a load pays.)
// The next layer is converted on another thread while this one is prepared, as a loader does:
// conversion is the CPU's work, preparation for a GPU mostly the copy engine's and the GPU's.
LoadTimes load_every_layer(const std::string& directory, Device device, int tp_size, int tp_rank) {
  LoadTimes times;
  std::vector<QuantizedLinear> model;
  const auto start = Clock::now();
  const checkpoint::Checkpoint ckpt = checkpoint::Checkpoint::open(directory);
  times.open_s = seconds_since(start);
  std::vector<std::string> names;
  for (const std::string& name : checkpoint::linear_layers(ckpt))
    if (!checkpoint::is_unquantized(ckpt, name)) names.push_back(name);
  // On the CPU, GPTQ's codes stay in the mapped files for the kernel to pack (load_layer).
  const auto convert = [&](const std::string& name) {
    const auto converting = Clock::now();
    Converted c{checkpoint::load_layer(
        ckpt, name, {checkpoint::default_split(name), tp_rank, tp_size},
        device.is_cpu() ? checkpoint::Codes::as_stored : checkpoint::Codes::canonical)};
    c.seconds = seconds_since(converting);
    return c;
  };
  const Stopwatch all_layers;
  std::future<Converted> next;
  if (!names.empty()) next = std::async(std::launch::async, convert, names.front());
  for (size_t i = 0; i < names.size(); ++i) {
    const Converted converted = next.get();
    if (i + 1 < names.size()) next = std::async(std::launch::async, convert, names[i + 1]);
    const checkpoint::CheckpointLayer& layer = converted.layer;
    times.convert_s += converted.seconds;
    const auto preparing = Clock::now();
    checkpoint::CheckpointLayer on_device = layer;
    for (Tensor* t : {&on_device.weight, &on_device.weight_scale, &on_device.weight_zero_point,
                      &on_device.weight_global_scale, &on_device.g_idx, &on_device.input_scale,
                      &on_device.input_zero_point})
      if (t->defined() && !device.is_cpu()) *t = Tensor::copy_of(*t, device);
    times.upload_s += seconds_since(preparing);
    model.emplace_back(layer.config, on_device.weights(), device);
    times.prepare_s += seconds_since(preparing);
    ++times.layers_count;
    times.weights += layer.config.part_n() * layer.config.part_k();
  }
  all_layers.add_to(times.layers);
  return times;
}

}  // namespace

int bench_checkpoint_load(const std::string& directory, Device device, int tp_size, int tp_rank,
                          const std::string& json_path, const std::string& note) {
  // Untimed: the files into the page cache, the pool warm.
  load_every_layer(directory, device, tp_size, tp_rank);
  const LoadTimes t = load_every_layer(directory, device, tp_size, tp_rank);
  int64_t bytes = 0;
  const checkpoint::Checkpoint ckpt = checkpoint::Checkpoint::open(directory);
  for (const std::string& path : ckpt.paths())
    bytes += static_cast<int64_t>(std::filesystem::file_size(path));
  const double read_gbs = bench::make_bench_device(device)->measure_read_bandwidth();
  const double total_s = t.open_s + t.layers.wall_s;
  const double gbs = bytes / total_s / 1e9;
  if (tp_size > 1)
    std::printf("tensor-parallel rank %d of %d: its shards only\n", tp_rank, tp_size);
  std::printf(
      "checkpoint %s: %d quantized layers, %.3g G weights, %.3f GB in its files\n"
      "open %.3f s; each layer converted (load_layer) on a thread of its own while the one before "
      "is prepared on %s (process_weights): convert %.3f s, prepare %.3f s (the upload of the "
      "converted tensors %.3f s of it), both %.3f s (CPU %.3f s)\n"
      "total %.3f s: %.2f GB/s of checkpoint bytes, %.2f ns a weight; read bandwidth %.1f GB/s "
      "(%.1f %%)\n",
      directory.c_str(), t.layers_count, t.weights / 1e9, bytes / 1e9, t.open_s,
      device.str().c_str(), t.convert_s, t.prepare_s, t.upload_s, t.layers.wall_s, t.layers.cpu_s,
      total_s, gbs, total_s * 1e9 / t.weights, read_gbs, 100 * gbs / read_gbs);
  if (!json_path.empty()) {
    const nlohmann::json record = {{"checkpoint", directory},
                                   {"device", device.str()},
                                   {"layers", t.layers_count},
                                   {"weights", t.weights},
                                   {"bytes", bytes},
                                   {"open_s", t.open_s},
                                   {"convert_s", t.convert_s},
                                   {"prepare_s", t.prepare_s},
                                   {"upload_s", t.upload_s},
                                   {"layers_s", t.layers.wall_s},
                                   {"layers_cpu_s", t.layers.cpu_s},
                                   {"total_s", total_s},
                                   {"gbs", gbs},
                                   {"read_gbs", read_gbs},
                                   {"tp_size", tp_size},
                                   {"tp_rank", tp_rank},
                                   {"note", note}};
    const std::string text = record.dump(2) + "\n";
    ReplacingWriter out(json_path);
    out.write(text.data(), text.size());
    out.commit();
  }
  return 0;
}

}  // namespace qlinear::tool
