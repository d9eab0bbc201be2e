// fp8_scaled_mm_sm90: fp8 W8A8 (e4m3 x e4m3) on Hopper's wgmma through qlinear's GEMM core
// (cuda/hopper/scaled_mm_sm90.cuh): per-tensor or per-channel weight scales times per-tensor
// (static or dynamic) or per-token activation scales, optional bias, bf16 / fp16 / fp32 out, all
// applied in the GEMM's epilogue. Each 128-wide K slice is promoted to fp32 as cuBLASLt does with
// fast accumulation off, so the error bound is cuBLASLt's. It reads cublaslt_fp8_scaled_mm's
// codes; the composite plan fp8_scaled_mm_by_tokens runs it for decode and cuBLASLt beyond
// (src/core/heuristics_cuda.hpp).
#include "cuda/hopper/scaled_mm_layer.hpp"
#include "cuda/hopper/scaled_mm_sm90.cuh"
#include "cuda/kernels.hpp"
#include "gpu/cublaslt_layout.hpp"

namespace qlinear::cuda {
namespace sm90 {

void run_scaled_mm_e4m3_promoted(const ScaledMmCall& call, cudaStream_t stream) {
  run_scaled_mm<Operand::E4m3, Scaling::promoted>(call, stream);
}

}  // namespace sm90

namespace {

class Fp8ScaledMmSm90 final : public sm90::HopperScaledMm {
 public:
  explicit Fp8ScaledMmSm90(std::shared_ptr<const Kernel> layout)
      : HopperScaledMm({"fp8_scaled_mm_sm90", Provider::cuda, Family::fp8_scaled_mm},
                       std::move(layout)) {}
  Verdict can_implement(const LayerConfig&) const override { return Verdict::yes(); }
  double tolerance(const LayerConfig& c) const override {
    return cublaslt::fp8_tensor_core_tolerance(c);
  }

 private:
  void run(const sm90::HopperWeights& w, const sm90::QuantizedActivations& q,
           sm90::ScaledMmCall& call, cudaStream_t stream) const override {
    call.epilogue.token_scale = q.scales();
    call.epilogue.token_scale_stride = q.scale_stride();
    call.epilogue.feature_scale = w.weight_scale.data_as<const float>();
    call.epilogue.feature_scale_stride = w.config().weight_scale == Granularity::per_tensor ? 0 : 1;
    sm90::run_scaled_mm_e4m3_promoted(call, stream);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_fp8_scaled_mm_sm90(std::shared_ptr<const Kernel> layout) {
  return std::make_shared<Fp8ScaledMmSm90>(std::move(layout));
}

}  // namespace qlinear::cuda
