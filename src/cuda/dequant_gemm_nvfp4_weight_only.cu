// dequant_gemm_nvfp4_weight_only: float4_e2m1 weights with e4m3 scales per 16 along K and an fp32
// global scale, dequantized per call to the activation type, then one cuBLASLt GEMM
// (cuda/detail/dequant_gemm.cuh). For prefill: the decode kernel is nvfp4_weight_only_mma_sm80.
//
// Format: a run is 32 e2m1 codes (two a byte, low nibble first, as stored), two scale groups; each
// half reads its e4m3 scale (one byte, kept as stored: an fp32 copy would add half the bytes of
// the codes) and multiplies it by the global scale times 2^shift once. Codes decode from their bits
// (formats.cuh, e2m1_decode); a weight is value · (scale · global · 2^shift): two fp32 roundings
// (e2m1 × e4m3 alone would be exact, the global scale is any fp32), then one to the activation
// type.
#include "cuda/detail/dequant_gemm.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct Nvfp4WeightOnly {
  static constexpr const char* kName = "dequant_gemm_nvfp4_weight_only";
  static constexpr Family kFamily = Family::nvfp4_weight_only;
  static detail::DequantLaunch launch(const LayerConfig& c, RunGrouping grouping) {
    return detail::dequant_launch<detail::Nvfp4Codes, RunGrouping::two_groups>(c.act_type,
                                                                               grouping);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_dequant_gemm_nvfp4_weight_only() {
  return std::make_shared<detail::DequantGemm<Nvfp4WeightOnly>>();
}

}  // namespace qlinear::cuda
