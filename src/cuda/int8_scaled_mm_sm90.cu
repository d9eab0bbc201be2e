// int8_scaled_mm_sm90: int8 W8A8 on Hopper's wgmma through qlinear's GEMM core
// (cuda/hopper/scaled_mm_sm90.cuh), accumulated exactly in s32, with the whole epilogue in the
// GEMM's pass: asymmetric activations (zero points per tensor or per token, corrected with the
// weights' row sums Σ_k w[n, k]), per-tensor or per-token activation scales, per-tensor or
// per-channel weight scales, bias, bf16 / fp16 / fp32 out. It reads cublaslt_int8_scaled_mm's
// codes; the composite plan int8_scaled_mm_by_tokens runs it for decode and cuBLASLt beyond
// (src/core/heuristics_cuda.hpp).
#include "cuda/hopper/scaled_mm_layer.hpp"
#include "cuda/hopper/scaled_mm_sm90.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace sm90 {

void run_scaled_mm_s8(const ScaledMmCall& call, cudaStream_t stream) {
  run_scaled_mm<Operand::S8, Scaling::integer>(call, stream);
}

}  // namespace sm90

namespace {

class Int8ScaledMmSm90 final : public sm90::HopperScaledMm {
 public:
  explicit Int8ScaledMmSm90(std::shared_ptr<const Kernel> layout)
      : HopperScaledMm({"int8_scaled_mm_sm90", Provider::cuda, Family::int8_scaled_mm},
                       std::move(layout)) {}
  Verdict can_implement(const LayerConfig&) const override { return Verdict::yes(); }

  double tolerance(const LayerConfig& c) const override {
    // The integer sum is exact; its conversion to fp32, two scale products and the bias add cost
    // at most 4 fp32 roundings, then one rounding to the output type.
    return unit_roundoff(c.out_type) + 4 * unit_roundoff(ScalarType::fp32);
  }

 private:
  void run(const sm90::HopperWeights& w, const sm90::QuantizedActivations& q,
           sm90::ScaledMmCall& call, cudaStream_t stream) const override {
    const LayerConfig& c = w.config();
    call.epilogue.token_scale = q.scales();
    call.epilogue.token_scale_stride = q.scale_stride();
    call.epilogue.feature_scale = w.weight_scale.data_as<const float>();
    call.epilogue.feature_scale_stride = c.weight_scale == Granularity::per_tensor ? 0 : 1;
    if (c.act_zero_points) {
      call.epilogue.token_zero = q.zero_points();
      call.epilogue.token_zero_stride = q.scale_stride();
      call.epilogue.feature_sum = w.feature_sum.data_as<const int32_t>();
    }
    sm90::run_scaled_mm_s8(call, stream);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_int8_scaled_mm_sm90(std::shared_ptr<const Kernel> layout) {
  return std::make_shared<Int8ScaledMmSm90>(std::move(layout));
}

}  // namespace qlinear::cuda
