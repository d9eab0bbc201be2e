// fp8 W8A8 through cuBLASLt: e4m3 x e4m3 on the tensor cores, fp32 accumulation, the scales applied
// by cuBLASLt. Per-tensor weights with per-tensor activations use the SCALAR_32F mode; every other
// combination uses OUTER_VEC_32F (per-channel [N] x per-token [M]), a per-tensor scale on either
// side repeated along its vector (weights once in process_weights, activations by the quantizer).

#include "cublaslt/kernels.hpp"
#include "gpu/act_quant.hpp"
#include "gpu/check.hpp"
#include "gpu/cublaslt_layout.hpp"
#include "gpu/cublaslt_matmul.hpp"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cublaslt {
namespace {

bool scalar_scales(const LayerConfig& c) {
  return c.weight_scale == Granularity::per_tensor && c.act_scale == Granularity::per_tensor;
}

class Fp8ScaledMm final : public Kernel {
 public:
  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& platform) const override { return hopper_only(platform); }
  Verdict can_implement(const LayerConfig&) const override { return Verdict::yes(); }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device device) const override {
    auto p = pad_weights(c, w, device, kAlignNFp8);
    // Scales: [1] for the scalar mode, else [n_padded] (a per-tensor scale repeated; 0 for
    // padding).
    const Tensor host = Tensor::copy_of(w.weight_scale, Device::cpu());
    const int64_t n = scalar_scales(c) ? 1 : p->n_padded;
    const Tensor vector = Tensor::empty(ScalarType::fp32, {n});
    for (int64_t i = 0; i < n; ++i)
      vector.data_as<float>()[i] =
          i >= c.part_n() ? 0.f : host.data_as<const float>()[host.numel() == 1 ? 0 : i];
    p->weight_scale = Tensor::copy_of(vector, device);
    return p;
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream_handle) const override {
    const auto& p = static_cast<const PaddedWeights&>(prepared);
    const LayerConfig& c = p.config();
    cuda::DeviceGuard guard(p.device.index);
    const cudaStream_t stream = cuda::native(stream_handle.handle);
    const int64_t m = x.rows(), kp = p.k_padded;
    const bool scalar = scalar_scales(c);

    cuda::Scratch codes(m * kp, stream, p.device.index);
    cuda::Scratch scales((scalar ? 1 : m) * static_cast<int64_t>(sizeof(float)), stream,
                         p.device.index);
    if (kp != c.part_k())
      cuda::check_cuda(cudaMemsetAsync(codes.get(), 0, m * kp, stream), "cudaMemsetAsync");
    cuda::ActQuantTarget target;
    target.codes = codes.get();
    target.codes_row_stride = kp;
    target.scales = scales.get();
    target.scale_row_stride = scalar ? 0 : 1;
    cuda::quantize_activations(c, x, p.input_scale, p.input_zero_point, target, stream);

    GemmOutput y(out, m, p.n_padded, stream);
    Problem problem;
    problem.device = p.device.index;
    problem.m = m;
    problem.n = p.n_padded;
    problem.k = kp;
    problem.w_row_stride = problem.x_row_stride = kp;
    problem.y_row_stride = y.row_stride();
    problem.w_type = problem.x_type = CUDA_R_8F_E4M3;
    problem.y_type = cuda_type(c.out_type);
    problem.w_scaling = problem.x_scaling = scalar ? Scaling::scalar : Scaling::outer_vector;
    matmul(problem,
           {p.weight.data(), codes.get(), y.data(), p.weight_scale.data_as<const float>(),
            scales.get<const float>()},
           stream);
    y.finish(bias);
  }

  double tolerance(const LayerConfig& c) const override { return fp8_tensor_core_tolerance(c); }

 private:
  KernelInfo info_{"cublaslt_fp8_scaled_mm", Provider::cublaslt, Family::fp8_scaled_mm};
};

}  // namespace

std::shared_ptr<const Kernel> make_fp8_scaled_mm() { return std::make_shared<Fp8ScaledMm>(); }

}  // namespace qlinear::cublaslt
