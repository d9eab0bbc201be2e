// dequant_gemm_mxfp4_weight_only: float4_e2m1 weights with e8m0 scales per 32 along K,
// dequantized per call to the activation type, then one cuBLASLt GEMM
// (cuda/detail/dequant_gemm.cuh). For prefill: the decode kernel is mxfp4_weight_only_mma_sm80.
//
// Format: a run is 32 e2m1 codes (two a byte, low nibble first, as stored), one scale group; the
// e8m0 scale (one byte, kept as stored) times 2^shift is a power of two, read once a run. A weight
// (an e2m1 value times a power of two) is exact in fp32 and rounds once, to the activation type
// (exactly, unless it leaves the type's range: e2m1's 2 significant bits fit both).
#include "cuda/detail/dequant_gemm.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct Mxfp4WeightOnly {
  static constexpr const char* kName = "dequant_gemm_mxfp4_weight_only";
  static constexpr Family kFamily = Family::mxfp4_weight_only;
  static detail::DequantLaunch launch(const LayerConfig& c, RunGrouping grouping) {
    return detail::dequant_launch<detail::Mxfp4Codes, RunGrouping::one_group>(c.act_type, grouping);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_dequant_gemm_mxfp4_weight_only() {
  return std::make_shared<detail::DequantGemm<Mxfp4WeightOnly>>();
}

}  // namespace qlinear::cuda
