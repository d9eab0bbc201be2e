// int8 W8A8 through cuBLASLt's IMMA path: int8 x int8 accumulated exactly in int32, then qlinear's
// epilogue applies what cuBLASLt cannot fuse for int32 output: the zero-point correction
// acc - z[m]·Σ_k w[n,k], the token and channel scales, the bias, and the rounding to bf16 / fp16.
#include "cublaslt/kernels.hpp"
#include "gpu/act_quant.hpp"
#include "gpu/check.hpp"
#include "gpu/cublaslt_layout.hpp"
#include "gpu/cublaslt_matmul.hpp"
#include "gpu/epilogue.hpp"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cublaslt {
namespace {

class Int8ScaledMm final : public Kernel {
 public:
  const KernelInfo& info() const override { return info_; }

  Verdict supported(const Platform& platform) const override {
    if (platform.kind != PlatformKind::cuda) return Verdict::no("needs a CUDA device");
    if (platform.compute_capability < 80)
      return Verdict::no(cat("built for sm_80 and up; this is sm_", platform.compute_capability));
    return Verdict::yes();
  }
  Verdict can_implement(const LayerConfig&) const override { return Verdict::yes(); }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device device) const override {
    auto p = pad_weights(c, w, device, 1);
    p->weight_scale = Tensor::copy_of(w.weight_scale, device);
    if (c.act_zero_points) {
      p->col_sum = Tensor::empty(ScalarType::int32, {c.part_n()}, device);
      cuda::int8_row_sums(p->weight.data(), c.part_n(), p->k_padded, p->k_padded,
                          p->col_sum.data_as<int32_t>(), nullptr);
      cuda::check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }
    return p;
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream_handle) const override {
    const auto& p = static_cast<const PaddedWeights&>(prepared);
    const LayerConfig& c = p.config();
    cuda::DeviceGuard guard(p.device.index);
    const cudaStream_t stream = cuda::native(stream_handle.handle);
    const int64_t m = x.rows(), n = c.part_n(), kp = p.k_padded;
    const bool per_tensor = c.act_scale == Granularity::per_tensor;
    const int64_t scale_count = per_tensor ? 1 : m;

    cuda::Scratch codes(m * kp, stream, p.device.index);
    cuda::Scratch scales(scale_count * static_cast<int64_t>(sizeof(float)), stream, p.device.index);
    cuda::Scratch zeros(c.act_zero_points ? scale_count * static_cast<int64_t>(sizeof(int32_t)) : 0,
                        stream, p.device.index);
    if (kp != c.part_k())
      cuda::check_cuda(cudaMemsetAsync(codes.get(), 0, m * kp, stream), "cudaMemsetAsync");
    cuda::ActQuantTarget target;
    target.codes = codes.get();
    target.codes_row_stride = kp;
    target.scales = scales.get();
    target.scale_row_stride = per_tensor ? 0 : 1;
    target.zero_points = zeros.get<int32_t>();
    target.zero_point_row_stride = per_tensor ? 0 : 1;
    cuda::quantize_activations(c, x, p.input_scale, p.input_zero_point, target, stream);

    // int32 rows 16-byte aligned.
    const int64_t acc_stride = cuda::round_up(n, 4);
    cuda::Scratch acc(m * acc_stride * static_cast<int64_t>(sizeof(int32_t)), stream,
                      p.device.index);
    Problem problem;
    problem.device = p.device.index;
    problem.m = m;
    problem.n = n;
    problem.k = kp;
    problem.w_row_stride = problem.x_row_stride = kp;
    problem.y_row_stride = acc_stride;
    problem.w_type = problem.x_type = CUDA_R_8I;
    problem.y_type = CUDA_R_32I;
    problem.compute = CUBLAS_COMPUTE_32I;
    matmul(problem, {p.weight.data(), codes.get(), acc.get()}, stream);

    cuda::Epilogue e;
    e.acc = acc.get();
    e.acc_type = ScalarType::int32;
    e.rows = m;
    e.cols = n;
    e.acc_row_stride = acc_stride;
    e.row_scale = scales.get<const float>();
    e.row_scale_stride = per_tensor ? 0 : 1;
    e.col_scale = p.weight_scale.data_as<const float>();
    e.col_scale_stride = c.weight_scale == Granularity::per_tensor ? 0 : 1;
    if (c.act_zero_points) {
      e.row_zero = zeros.get<const int32_t>();
      e.row_zero_stride = per_tensor ? 0 : 1;
      e.col_sum = p.col_sum.data_as<const int32_t>();
    }
    if (bias.defined()) {
      e.bias = bias.data();
      e.bias_type = bias.dtype();
    }
    e.out = out.data();
    e.out_type = c.out_type;
    cuda::run_epilogue(e, stream);
  }

  double tolerance(const LayerConfig& c) const override {
    // The integer sum is exact; its conversion to fp32, two scale products and the bias add cost
    // at most 4 fp32 roundings, then one rounding to the output type.
    return unit_roundoff(c.out_type) + 4 * unit_roundoff(ScalarType::fp32);
  }

 private:
  KernelInfo info_{"cublaslt_int8_scaled_mm", Provider::cublaslt, Family::int8_scaled_mm};
};

}  // namespace

std::shared_ptr<const Kernel> make_int8_scaled_mm() { return std::make_shared<Int8ScaledMm>(); }

}  // namespace qlinear::cublaslt
