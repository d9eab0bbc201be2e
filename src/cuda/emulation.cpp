// Emulation kernels, one per family (name emulation_<family>), as vLLM's emulation backends do it:
// the weights dequantized to bf16 once (or per call when QLINEAR_EMULATION_PER_CALL=1, for layers
// whose bf16 copy would not fit), the activations quantized and dequantized as the family
// prescribes (the same quantizer as the real kernels, writing x̂ in bf16), then a cuBLASLt bf16
// GEMM into fp32 and qlinear's epilogue for bias and output type. Runs every valid config of every
// family on any sm_80+ GPU: the fallback, and the baseline every faster kernel is measured against.
#include "cuda/emulation.hpp"

#include <cstdlib>
#include <cstring>

#include "cuda/dequant_weights.hpp"
#include "gpu/act_quant.hpp"
#include "gpu/check.hpp"
#include "gpu/cublaslt_layout.hpp"
#include "gpu/cublaslt_matmul.hpp"
#include "gpu/epilogue.hpp"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cuda {
namespace {

// bf16 rows 16-byte aligned for the tensor cores.
constexpr int64_t kAlignK = 8;

bool dequantize_per_call() {
  const char* v = std::getenv("QLINEAR_EMULATION_PER_CALL");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

struct Prepared final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  Device device;
  int64_t k_padded = 0;
  Tensor w_hat;                   // bf16 [N, k_padded], or undefined when dequantized per call
  std::vector<Tensor> canonical;  // per call: the canonical tensors, kept on the device
  LayerWeights weights;           // views of `canonical`
  Tensor input_scale, input_zero_point;
};

Tensor copy_if_defined(const TensorView& t, Device device) {
  return t.defined() ? Tensor::copy_of(t, device) : Tensor();
}

class Emulation final : public Kernel {
 public:
  explicit Emulation(Family family)
      : info_{cat("emulation_", qlinear::name(family)), Provider::cuda, family,
              /*keeps_dense_copy=*/true} {}
  const KernelInfo& info() const override { return info_; }

  Verdict supported(const Platform& platform) const override {
    if (platform.kind != PlatformKind::cuda) return Verdict::no("needs a CUDA device");
    if (platform.compute_capability < 80)
      return Verdict::no(
          cat("bf16 tensor cores need sm_80 or later; this is sm_", platform.compute_capability));
    return Verdict::yes();
  }
  Verdict can_implement(const LayerConfig&) const override { return Verdict::yes(); }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device device) const override {
    require(device.is_cuda(), name(), ": weights must be on a CUDA device, not ", device.str());
    DeviceGuard guard(device.index);
    auto p = std::make_shared<Prepared>(c);
    p->device = device;
    p->k_padded = round_up(c.part_k(), kAlignK);
    p->input_scale = copy_if_defined(w.input_scale, device);
    p->input_zero_point = copy_if_defined(w.input_zero_point, device);
    if (dequantize_per_call()) {
      const auto keep = [&](const TensorView& t) -> TensorView {
        if (!t.defined()) return {};
        p->canonical.push_back(Tensor::copy_of(t, device));
        return p->canonical.back();
      };
      p->weights.weight = keep(w.weight);
      p->weights.weight_scale = keep(w.weight_scale);
      p->weights.weight_zero_point = keep(w.weight_zero_point);
      p->weights.weight_global_scale = keep(w.weight_global_scale);
      p->weights.g_idx = keep(w.g_idx);
    } else {
      p->w_hat = Tensor::empty(ScalarType::bf16, {c.part_n(), p->k_padded}, device);
      dequantize_weights_bf16(c, w, p->w_hat.data(), p->k_padded, nullptr);
      check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }
    return p;
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream_handle) const override {
    const auto& p = static_cast<const Prepared&>(prepared);
    const LayerConfig& c = p.config();
    DeviceGuard guard(p.device.index);
    const cudaStream_t stream = native(stream_handle.handle);
    const int64_t m = x.rows(), n = c.part_n(), kp = p.k_padded;
    constexpr int64_t kBf16 = 2, kFp32 = 4;

    Scratch w_call(p.w_hat.defined() ? 0 : n * kp * kBf16, stream, p.device.index);
    const void* w_hat = p.w_hat.defined() ? p.w_hat.data() : w_call.get();
    if (!p.w_hat.defined()) dequantize_weights_bf16(c, p.weights, w_call.get(), kp, stream);

    // x̂ in bf16, zero beyond K.
    Scratch x_hat(m * kp * kBf16, stream, p.device.index);
    if (kp != c.part_k())
      check_cuda(cudaMemsetAsync(x_hat.get(), 0, m * kp * kBf16, stream), "cudaMemsetAsync");
    if (c.act_quant) {
      const bool per_group = c.act_scale == Granularity::per_group;
      const int64_t groups = per_group ? (c.part_k() + c.act_group_size - 1) / c.act_group_size : 1;
      Scratch scales(m * groups * kFp32, stream, p.device.index);
      Scratch zeros(c.act_zero_points ? m * kFp32 : 0, stream, p.device.index);
      ActQuantTarget target;
      target.codes = x_hat.get();
      target.codes_row_stride = kp;
      target.dequantized = true;
      target.scales = scales.get();
      target.scale_row_stride = groups;
      target.zero_points = zeros.get<int32_t>();
      target.zero_point_row_stride = 1;
      quantize_activations(c, x, p.input_scale, p.input_zero_point, target, stream);
    } else {
      convert_to_bf16(x, x_hat.get(), kp, stream);
    }

    const int64_t acc_stride = round_up(n, 4);
    Scratch acc(m * acc_stride * kFp32, stream, p.device.index);
    cublaslt::Problem problem;
    problem.device = p.device.index;
    problem.m = m;
    problem.n = n;
    problem.k = kp;
    problem.w_row_stride = problem.x_row_stride = kp;
    problem.y_row_stride = acc_stride;
    problem.w_type = problem.x_type = CUDA_R_16BF;
    problem.y_type = CUDA_R_32F;
    cublaslt::matmul(problem, {w_hat, x_hat.get(), acc.get()}, stream);

    Epilogue e;
    e.acc = acc.get();
    e.acc_type = ScalarType::fp32;
    e.rows = m;
    e.cols = n;
    e.acc_row_stride = acc_stride;
    if (bias.defined()) {
      e.bias = bias.data();
      e.bias_type = bias.dtype();
    }
    e.out = out.data();
    e.out_type = c.out_type;
    run_epilogue(e, stream);
  }

  double tolerance(const LayerConfig& c) const override {
    // x̂ and ŵ each rounded once to bf16 (a product off by at most (1+u)^2 - 1 = 2u + u^2, u the
    // bf16 unit roundoff), the fp32 sum of K terms and the bias add ((K+1)·u32), and one
    // rounding to the output type.
    const double u = unit_roundoff(ScalarType::bf16);
    return 2 * u + u * u + static_cast<double>(c.part_k() + 1) * unit_roundoff(ScalarType::fp32) +
           unit_roundoff(c.out_type);
  }

 private:
  KernelInfo info_;
};

}  // namespace

std::shared_ptr<const Kernel> make_emulation(Family family) {
  return std::make_shared<Emulation>(family);
}

}  // namespace qlinear::cuda
