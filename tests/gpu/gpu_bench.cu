// qlinear_gpu_bench: what the GPU foundation's "done when" asks to be measured, on the device,
// until `qlinear bench --device cuda` takes over: the device-to-device copy ceiling, the activation
// quantizers on an [8192, 8192] bf16 input against it, and the cuBLASLt GEMMs behind the cublaslt
// kernels on the shapes of ../shared/peers (the same weights-rotation and median-of-events method
// as peers.py), plus whole-layer times (quantization included) for the fp8 kernels.
//   qlinear_gpu_bench [--json FILE] [--quick] [--quantizers] [--sm90] [--profile-quantizers]
// --quantizers: the copy ceiling and the quantizers only; --sm90: the Hopper kernels' own GEMM at
// every M beside the cuBLASLt kernels, only.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/median.hpp"
#include "cuda/bench_device.hpp"
#include "gpu/act_quant.hpp"
#include "gpu/check.hpp"
#include "gpu/cublaslt_matmul.hpp"
#include "gpu/fill.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

using cuda::check_cuda;

enum class Fill { values, positive };
Tensor random_tensor(ScalarType dtype, std::initializer_list<int64_t> shape, Fill kind,
                     uint64_t seed) {
  Tensor t = Tensor::empty(dtype, shape, Device::cuda(0));
  cuda::fill_random(t, seed, kind == Fill::positive);
  return t;
}

// Median time of `fn` in microseconds, each call between two events, after warm-up. As
// triton.testing.do_bench (peers.py) does, a 256 MB memset runs before every call: it empties the
// L2 and keeps the GPU busy while the host enqueues the call, so the events time the GPU's work
// and not the host's launch overhead. For the GEMMs compared with the peers' numbers.
double median_us(const std::function<void(int)>& fn, int reps = 50, int warmup = 5) {
  static const Tensor flush =
      Tensor::empty(ScalarType::uint8, {int64_t{256} << 20}, Device::cuda(0));
  std::vector<cudaEvent_t> events(2 * reps);
  for (auto& e : events) check_cuda(cudaEventCreate(&e), "cudaEventCreate");
  for (int i = 0; i < warmup; ++i) fn(i);
  for (int i = 0; i < reps; ++i) {
    check_cuda(cudaMemsetAsync(flush.data(), 0, static_cast<size_t>(flush.nbytes())),
               "cudaMemsetAsync");
    check_cuda(cudaEventRecord(events[2 * i]), "cudaEventRecord");
    fn(i);
    check_cuda(cudaEventRecord(events[2 * i + 1]), "cudaEventRecord");
  }
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  std::vector<float> times(reps);
  for (int i = 0; i < reps; ++i)
    check_cuda(cudaEventElapsedTime(&times[i], events[2 * i], events[2 * i + 1]),
               "cudaEventElapsedTime");
  for (auto& e : events) cudaEventDestroy(e);
  std::sort(times.begin(), times.end());
  return 1e3 * times[times.size() / 2];
}

std::string json;
void record(const std::string& kind, int64_t m, int64_t n, int64_t k, double us, double flops,
            double bytes) {
  std::printf("%-28s M=%5lld N=%6lld K=%6lld %10.1f us %8.1f TFLOP/s %8.1f GB/s\n", kind.c_str(),
              static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k), us,
              flops / us * 1e-6, bytes / us * 1e-3);
  std::fflush(stdout);
  json += cat(json.empty() ? "" : ",\n", "  {\"kind\": \"", kind, "\", \"M\": ", m, ", \"N\": ", n,
              ", \"K\": ", k, ", \"us\": ", us, ", \"tflops\": ", flops / us * 1e-6,
              ", \"gbs\": ", bytes / us * 1e-3, "}");
}

// The same, timed as `qlinear bench` times (the bench device: a read pass over 256 MiB instead of
// the memset, whose dirty lines' write-back a short memory-bound kernel would otherwise pay: 10-15%
// of a quantizer's time). For the copy ceiling and the quantizers measured against it.
double median_read_flushed_us(const std::function<void(cudaStream_t)>& fn) {
  static const std::unique_ptr<bench::BenchDevice> device =
      cuda::make_cuda_bench_device(Device::cuda(0));
  return bench::median(device->time(
      [&](int, Stream stream) { fn(static_cast<cudaStream_t>(stream.handle)); }, 5, 50));
}

double copy_bandwidth() {
  const int64_t bytes = int64_t{1} << 30;
  const Tensor a = random_tensor(ScalarType::bf16, {bytes / 2}, Fill::values, 1);
  const Tensor b = Tensor::empty(ScalarType::bf16, {bytes / 2}, Device::cuda(0));
  const double us = median_read_flushed_us([&](cudaStream_t stream) {
    check_cuda(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, stream),
               "cudaMemcpyAsync");
  });
  record("copy", 0, 0, 0, us, 0, 2.0 * bytes);
  return 2.0 * bytes / us * 1e-3;
}

// With `once` (for a profiler), each quantizer runs once, untimed.
void activation_quantizers(double copy_gbs, bool once) {
  const int64_t m = 8192, k = 8192;
  const Tensor x = random_tensor(ScalarType::bf16, {m, k}, Fill::values, 2);
  const Tensor input_scale = Tensor::copy_of(
      [] {
        Tensor t = Tensor::empty(ScalarType::fp32, {1});
        *t.data_as<float>() = 2.f / 448.f;
        return t;
      }(),
      Device::cuda(0));
  const Tensor codes = Tensor::empty(ScalarType::uint8, {m, k}, Device::cuda(0));
  const Tensor scales = Tensor::empty(ScalarType::fp32, {m, k / 16}, Device::cuda(0));
  const Tensor zeros = Tensor::empty(ScalarType::int32, {m}, Device::cuda(0));
  struct Scheme {
    const char* name;
    Family family;
    std::function<void(LayerConfig&)> adjust;
  };
  const std::vector<Scheme> schemes = {
      {"quant int8 per-token", Family::int8_scaled_mm, [](LayerConfig&) {}},
      {"quant int8 per-token azp", Family::int8_scaled_mm,
       [](LayerConfig& c) { c.act_zero_points = true; }},
      {"quant fp8 per-token", Family::fp8_scaled_mm, [](LayerConfig&) {}},
      {"quant fp8 static", Family::fp8_scaled_mm,
       [](LayerConfig& c) { c.act_scale = Granularity::per_tensor, c.act_scale_static = true; }},
      {"quant fp8 1x128", Family::fp8_block, [](LayerConfig&) {}},
      {"quant nvfp4 1x16", Family::nvfp4, [](LayerConfig&) {}},
      {"quant mxfp8 1x32", Family::mxfp8, [](LayerConfig&) {}},
  };
  for (const Scheme& s : schemes) {
    LayerConfig c = default_config(s.family, 4096, k);
    s.adjust(c);
    const int64_t groups = c.act_scale == Granularity::per_group ? k / c.act_group_size : 1;
    cuda::ActQuantTarget t;
    t.codes = codes.data();
    t.codes_row_stride = k;
    t.scales = scales.data();
    t.scale_row_stride = c.act_scale == Granularity::per_tensor ? 0 : groups;
    t.zero_points = c.act_zero_points ? zeros.data_as<int32_t>() : nullptr;
    t.zero_point_row_stride = 1;
    const TensorView in_scale = c.has_static_input_scale() ? input_scale.view() : TensorView();
    if (once) {
      cuda::quantize_activations(c, x, in_scale, {}, t, nullptr);
      continue;
    }
    const double us = median_read_flushed_us(
        [&](cudaStream_t stream) { cuda::quantize_activations(c, x, in_scale, {}, t, stream); });
    const double code_bytes = c.act_quant == ScalarType::float4_e2m1f ? 0.5 : 1.0;
    const double scale_bytes = c.family == Family::nvfp4 || c.family == Family::mxfp8 ? 1 : 4;
    const double bytes = m * k * (2 + code_bytes) + m * groups * scale_bytes;
    record(s.name, m, 0, k, us, 0, bytes);
    std::printf("    %.0f%% of copy bandwidth\n", 100.0 * bytes / us * 1e-3 / copy_gbs);
  }
}

// The GEMMs of the cublaslt kernels, as peers.py times torch's: pre-quantized operands, weights
// rotated through enough copies to defeat the L2, output bf16 (int32 for int8).
void gemms(bool quick) {
  const std::vector<std::pair<int64_t, int64_t>> shapes =
      quick ? std::vector<std::pair<int64_t, int64_t>>{{8192, 8192}}
            : std::vector<std::pair<int64_t, int64_t>>{
                  {8192, 8192}, {28672, 8192}, {8192, 28672}, {4096, 4096}};
  const std::vector<int64_t> ms = {1, 16, 64, 256, 1024, 4096, 8192};
  int l2 = 0;
  check_cuda(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0), "cudaDeviceGetAttribute");
  for (const auto& [n, k] : shapes) {
    const auto copies_for = [&](int64_t bytes) {
      return std::max<int64_t>(1, std::min<int64_t>(16, 4 * l2 / bytes + 1));
    };
    std::vector<Tensor> w16, w8, wi8;
    for (int64_t i = 0; i < copies_for(n * k * 2); ++i)
      w16.push_back(random_tensor(ScalarType::bf16, {n, k}, Fill::values, 10 + i));
    for (int64_t i = 0; i < copies_for(n * k); ++i) {
      w8.push_back(random_tensor(ScalarType::float8_e4m3fn, {n, k}, Fill::values, 40 + i));
      wi8.push_back(random_tensor(ScalarType::int8, {n, k}, Fill::values, 70 + i));
    }
    const Tensor w_scale = random_tensor(ScalarType::fp32, {n}, Fill::positive, 5);
    const Tensor w_block_scale = random_tensor(
        ScalarType::fp32, {(n + 127) / 128, ((k + 127) / 128 + 3) / 4 * 4}, Fill::positive, 6);
    for (int64_t m : ms) {
      const int64_t m16 = (m + 15) / 16 * 16;
      const Tensor x16 = random_tensor(ScalarType::bf16, {m, k}, Fill::values, 3);
      const Tensor x8 = random_tensor(ScalarType::float8_e4m3fn, {m16, k}, Fill::values, 4);
      const Tensor xi8 = random_tensor(ScalarType::int8, {m, k}, Fill::values, 8);
      const Tensor x_scale =
          random_tensor(ScalarType::fp32, {m16 * ((k + 127) / 128)}, Fill::positive, 7);
      const Tensor y = Tensor::empty(ScalarType::fp32, {m16, n}, Device::cuda(0));
      const double flops = 2.0 * m * n * k;
      const auto run = [&](const char* kind, cudaDataType_t wt, cudaDataType_t yt,
                           cublasComputeType_t compute, cublaslt::Scaling ws, cublaslt::Scaling xs,
                           const std::vector<Tensor>& w, const Tensor& x, int64_t rows,
                           const Tensor& wsc) {
        cublaslt::Problem p;
        p.m = rows, p.n = n, p.k = k;
        p.w_row_stride = p.x_row_stride = k;
        p.y_row_stride = n;
        p.w_type = p.x_type = wt;
        p.y_type = yt;
        p.compute = compute;
        p.w_scaling = ws, p.x_scaling = xs;
        // The heuristic's first choice (what the kernels use by default), then the fastest of its
        // first 8 (QLINEAR_CUBLASLT_TUNE=1).
        for (bool tune : {false, true}) {
          cublaslt::set_tuning(tune);
          const std::string name = cat(kind, tune ? " tuned" : "");
          try {
            const double us = median_us([&](int i) {
              cublaslt::matmul(p,
                               {w[i % w.size()].data(), x.data(), y.data(),
                                wsc.data_as<const float>(), x_scale.data_as<const float>()},
                               nullptr);
            });
            const double weight_bytes = static_cast<double>(w[0].nbytes());
            record(name, m, n, k, us, flops, weight_bytes + m * k * 2.0 + m * n * 2.0);
          } catch (const Error& e) {
            std::printf("%-28s M=%5lld N=%6lld K=%6lld failed: %s\n", name.c_str(),
                        static_cast<long long>(m), static_cast<long long>(n),
                        static_cast<long long>(k), e.what());
          }
        }
        cublaslt::set_tuning(false);
      };
      using S = cublaslt::Scaling;
      run("bf16 cublaslt", CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, S::none, S::none, w16, x16,
          m, w_scale);
      run("fp8 tensorwise cublaslt", CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F, S::scalar,
          S::scalar, w8, x8, m, w_scale);
      run("fp8 rowwise cublaslt", CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F, S::outer_vector,
          S::outer_vector, w8, x8, m, w_scale);
      run("fp8 block128 cublaslt", CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F, S::block128x128,
          S::vec128, w8, x8, m16, w_block_scale);
      run("int8 cublaslt", CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, S::none, S::none, wi8, xi8, m,
          w_scale);
    }
  }
}

// Whole layers through the registry's kernels (activation quantization included), bf16 in and out.
// Whole layers of `kernels` (activation quantization included) on n x k at the given M.
void layers(const std::vector<const Kernel*>& kernels, int64_t n, int64_t k,
            const std::vector<int64_t>& ms) {
  for (const Kernel* kernel : kernels) {
    LayerConfig c = default_config(kernel->family(), n, k);
    const Tensor w = random_tensor(c.weight_type, {n, k}, Fill::values, 20);
    const auto scale_shape = c.weight_scale_shape();
    const Tensor scale =
        random_tensor(ScalarType::fp32, {scale_shape[0], scale_shape[1]}, Fill::positive, 21);
    LayerWeights weights;
    weights.weight = w;
    weights.weight_scale = scale;
    const QuantizedLinear layer(c, weights, *kernel, Device::cuda(0));
    for (int64_t m : ms) {
      const Tensor x = random_tensor(ScalarType::bf16, {m, k}, Fill::values, 22);
      const Tensor out = Tensor::empty(ScalarType::bf16, {m, n}, Device::cuda(0));
      const double us = median_read_flushed_us(
          [&](cudaStream_t stream) { layer.forward_into(x, out, {}, Stream{stream}); });
      record(cat("layer ", kernel->name()), m, n, k, us, 2.0 * m * n * k,
             n * k + m * k * 2.0 + m * n * 2.0);
    }
  }
}

// The cuBLASLt kernels (8192 x 8192: the peers' shape).
void cublaslt_layers() {
  std::vector<const Kernel*> kernels;
  for (const char* name :
       {"cublaslt_fp8_scaled_mm", "cublaslt_fp8_block", "cublaslt_int8_scaled_mm"})
    kernels.push_back(Registry::global().find(name));
  layers(kernels, 8192, 8192, {1, 16, 256, 4096});
}

// The Hopper scaled-mm kernels (their own GEMM at every M) beside the cuBLASLt kernels, on the
// preset layers (each rank's shard): where the own GEMM wins, i.e. the token limits of the
// composite plans (src/core/heuristics_cuda.hpp).
void sm90_layers() {
  std::vector<const Kernel*> kernels;
  for (const char* name :
       {"fp8_scaled_mm_sm90", "fp8_block_sm90", "int8_scaled_mm_sm90", "cublaslt_fp8_scaled_mm",
        "cublaslt_fp8_block", "cublaslt_int8_scaled_mm"})
    kernels.push_back(Registry::global().find(name));
  for (const char* preset : {"llama3-8b", "llama3-70b-tp8"})
    for (const bench::Shape& s : bench::preset(preset))
      layers(kernels, s.partition_n ? s.partition_n : s.n, s.partition_k ? s.partition_k : s.k,
             {16, 32, 64, 128, 256, 512});
}

}  // namespace
}  // namespace qlinear

int main(int argc, char** argv) {
  using namespace qlinear;
  std::string json_path;
  bool quick = false, profile = false, quantizers_only = false, sm90_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) json_path = argv[++i];
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--profile-quantizers") == 0) profile = true;
    if (std::strcmp(argv[i], "--quantizers") == 0) quantizers_only = true;
    if (std::strcmp(argv[i], "--sm90") == 0) sm90_only = true;
  }
  try {
    cudaDeviceProp props{};
    check_cuda(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
    std::printf("%s, %d SMs, L2 %d MB\n", props.name, props.multiProcessorCount,
                props.l2CacheSize >> 20);
    if (profile) {
      activation_quantizers(0, true);
      check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
      return 0;
    }
    if (sm90_only) {
      sm90_layers();
    } else {
      const double copy_gbs = copy_bandwidth();
      activation_quantizers(copy_gbs, false);
      if (!quantizers_only) {
        cublaslt_layers();
        gemms(quick);
      }
    }
    if (!json_path.empty()) {
      FILE* f = std::fopen(json_path.c_str(), "w");
      std::fprintf(f, "{\"gpu\": \"%s\", \"results\": [\n%s\n]}\n", props.name, json.c_str());
      std::fclose(f);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qlinear_gpu_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
