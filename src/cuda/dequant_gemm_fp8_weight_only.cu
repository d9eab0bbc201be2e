// dequant_gemm_fp8_weight_only: float8_e4m3fn weights with an fp32 scale per tensor or per output
// channel, dequantized per call to the activation type, then one cuBLASLt GEMM
// (cuda/detail/dequant_gemm.cuh): FP8 checkpoints at prefill on GPUs without FP8 tensor cores.
// For decode: fp8_weight_only_mma_sm80.
//
// Format: a run is 16 e4m3 codes of one row; the row's scale (a per-tensor scale is repeated for
// every row, dequant_gemm_plan.cpp) times 2^shift, read once a run. A weight is value · scale in
// fp32 (one rounding: the scale is any fp32), then one rounding to the activation type.
#include "cuda/detail/dequant_gemm.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct Fp8WeightOnly {
  static constexpr const char* kName = "dequant_gemm_fp8_weight_only";
  static constexpr Family kFamily = Family::fp8_weight_only;
  static detail::DequantLaunch launch(const LayerConfig& c, RunGrouping grouping) {
    return detail::dequant_launch<detail::Fp8Codes, RunGrouping::one_group>(c.act_type, grouping);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_dequant_gemm_fp8_weight_only() {
  return std::make_shared<detail::DequantGemm<Fp8WeightOnly>>();
}

}  // namespace qlinear::cuda
