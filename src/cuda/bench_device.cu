// The CUDA bench device.
//
// Timing, close to how triton.testing.do_bench times the peers (../shared/peers/peers.py): every
// call is bracketed by two events on the bench's stream, and a pass over a 256 MiB buffer runs
// before each, which empties the L2 and keeps the GPU busy while the host enqueues the call, so
// that the events time the GPU's work and not the host's launch overhead (which a CUDA graph would
// hide in a model). The pass reads the buffer: do_bench's memset leaves the L2 full of dirty lines
// whose write-back the timed call then pays, which no layer in a model does (H100, fp8 M = 1:
// 4096x4096 19.5 µs after a read, 21.3 after a memset; 28672x4096 49.3 vs 58.1 µs).
//
// Peak rates, dense, per SM and clock (a multiply-add is 2 ops), times the SMs and the maximum
// SM clock the device reports (an upper bound, as a floor needs):
//   architecture   bf16/fp16   fp8    int8   fp32 (CUDA cores)   from
//   sm_90 (H100)      4096     8192   8192        256            H100 datasheet: 989 / 1979 /
//                                                                1979 TFLOP/s dense at 1.83 GHz,
//                                                                132 SMs
//   sm_80 (A100)      2048        -   4096        128            A100 datasheet: 312 / 624 at 1.41
//   GHz, 108 SMs
// Formats without tensor-core support on the device (fp8 before sm_89, fp4 before sm_100) count
// at the bf16 rate, the route an emulation takes.
#include <algorithm>
#include <vector>

#include "cuda/bench_device.hpp"
#include "gpu/check.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::cuda {
namespace {

// Reads `count` 16-byte words; one XOR per block is written so the reads are not removed.
__global__ void read_probe(const uint4* data, int64_t count, uint32_t* sink) {
  uint32_t x = 0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint4 v = data[i];
    x ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (x == 0x9e3779b9u) sink[blockIdx.x] = x;  // practically never: keeps the loads alive
}

struct Rates {
  double bf16, fp8, int8, fp32;  // ops per SM per clock
};

Rates rates_of(int compute_capability) {
  if (compute_capability >= 90) return {4096, 8192, 8192, 256};
  if (compute_capability >= 89) return {2048, 4096, 4096, 256};  // Ada: fp8 at twice bf16
  return {2048, 2048, 4096, 128};
}

class CudaBenchDevice final : public bench::BenchDevice {
 public:
  explicit CudaBenchDevice(Device device) : device_(device), platform_(platform_of(device)) {
    DeviceGuard guard(device_.index);
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
               "cudaStreamCreateWithFlags");
    int khz = 0;
    check_cuda(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, device_.index),
               "cudaDeviceGetAttribute");
    clock_hz_ = khz * 1e3;
    flush_ = Tensor::empty(ScalarType::uint8, {int64_t{256} << 20}, device_);
    flush_sink_ = Tensor::empty(ScalarType::int32, {int64_t{platform_.sm_count} * 8}, device_);
    check_cuda(cudaMemsetAsync(flush_.data(), 1, static_cast<size_t>(flush_.nbytes()), stream_),
               "cudaMemsetAsync");
  }
  ~CudaBenchDevice() override { cudaStreamDestroy(stream_); }

  std::string describe() const override {
    return cat(device_.str(), ": ", platform_.device_name, ", ", platform_.sm_count, " SMs, ",
               platform_.str());
  }

  std::vector<double> time(const std::function<void(int, Stream)>& body, int warmup,
                           int reps) override {
    DeviceGuard guard(device_.index);
    const Stream stream{stream_};
    for (int i = 0; i < warmup; ++i) body(i, stream);
    std::vector<cudaEvent_t> events(2 * static_cast<size_t>(reps));
    for (auto& e : events) check_cuda(cudaEventCreate(&e), "cudaEventCreate");
    for (int i = 0; i < reps; ++i) {
      read_probe<<<static_cast<unsigned>(platform_.sm_count * 8), 512, 0, stream_>>>(
          static_cast<const uint4*>(flush_.data()), flush_.nbytes() / 16,
          static_cast<uint32_t*>(flush_sink_.data()));
      check_launch("read_probe");
      check_cuda(cudaEventRecord(events[2 * i], stream_), "cudaEventRecord");
      body(warmup + i, stream);
      check_cuda(cudaEventRecord(events[2 * i + 1], stream_), "cudaEventRecord");
    }
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    std::vector<double> us(static_cast<size_t>(reps));
    for (int i = 0; i < reps; ++i) {
      float ms = 0;
      check_cuda(cudaEventElapsedTime(&ms, events[2 * i], events[2 * i + 1]),
                 "cudaEventElapsedTime");
      us[i] = 1e3 * ms;
    }
    for (auto& e : events) cudaEventDestroy(e);
    return us;
  }

  // A 2 GiB read, best of 10 (GB = 1e9 B).
  double measure_read_bandwidth() override {
    DeviceGuard guard(device_.index);
    const int64_t bytes = int64_t{2} << 30;
    const Tensor buffer = Tensor::empty(ScalarType::uint8, {bytes}, device_);
    const Tensor sink = Tensor::empty(ScalarType::int32, {4096}, device_);
    check_cuda(cudaMemsetAsync(buffer.data(), 1, static_cast<size_t>(bytes), stream_),
               "cudaMemsetAsync");
    cudaEvent_t start, stop;
    check_cuda(cudaEventCreate(&start), "cudaEventCreate");
    check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
    float best = 1e30f;
    for (int rep = 0; rep < 10; ++rep) {
      check_cuda(cudaEventRecord(start, stream_), "cudaEventRecord");
      read_probe<<<static_cast<unsigned>(platform_.sm_count * 8), 512, 0, stream_>>>(
          static_cast<const uint4*>(buffer.data()), bytes / 16,
          static_cast<uint32_t*>(sink.data()));
      check_launch("read_probe");
      check_cuda(cudaEventRecord(stop, stream_), "cudaEventRecord");
      check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
      float ms = 0;
      check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
      best = std::min(best, ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return static_cast<double>(bytes) / (best * 1e-3) * 1e-9;
  }

  int64_t copy_budget_bytes() const override {
    DeviceGuard guard(device_.index);
    size_t free = 0, total = 0;
    check_cuda(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    return static_cast<int64_t>(free / 2);
  }

  double peak_ops(ScalarType type) const override {
    const Rates r = rates_of(platform_.compute_capability);
    double per_clock = r.bf16;
    switch (type) {
      case ScalarType::int8:
      case ScalarType::uint8:
        per_clock = r.int8;
        break;
      case ScalarType::float8_e4m3fn:
      case ScalarType::float8_e5m2:
        per_clock = r.fp8;
        break;
      case ScalarType::fp32:
        per_clock = r.fp32;
        break;
      default:
        break;
    }
    return per_clock * platform_.sm_count * clock_hz_;
  }

  std::string peak_source() const override {
    const Rates r = rates_of(platform_.compute_capability);
    return cat("dense ops/SM/clock for sm_", platform_.compute_capability, " (bf16 ", r.bf16,
               ", fp8 ", r.fp8, ", int8 ", r.int8, ", fp32 ", r.fp32,
               "; datasheet table in src/cuda/bench_device.cu) x ", platform_.sm_count, " SMs x ",
               clock_hz_ * 1e-9, " GHz (the device's maximum SM clock)");
  }

 private:
  Device device_;
  Platform platform_;
  cudaStream_t stream_ = nullptr;
  double clock_hz_ = 0;
  Tensor flush_, flush_sink_;
};

}  // namespace

std::unique_ptr<bench::BenchDevice> make_cuda_bench_device(Device device) {
  require(device.is_cuda(), "bench: the CUDA bench device cannot time ", device.str());
  return std::make_unique<CudaBenchDevice>(device);
}

}  // namespace qlinear::cuda
