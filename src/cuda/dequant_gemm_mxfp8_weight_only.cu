// dequant_gemm_mxfp8_weight_only: float8_e4m3fn weights with e8m0 scales per 32 along K,
// dequantized per call to the activation type, then one cuBLASLt GEMM
// (cuda/detail/dequant_gemm.cuh). For prefill: the decode kernel is mxfp8_weight_only_mma_sm80.
//
// Format: a run is 16 e4m3 codes, half a scale group; the e8m0 scale (one byte, kept as stored)
// times 2^shift is a power of two, read once a run. Codes decode from their bits (formats.cuh,
// e4m3_decode; 0x7f / 0xff are NaN, as in the reference), so a weight is exact in fp32 and rounds
// once, to the activation type (exactly, unless fp16 must round it: e4m3's 4 significant bits fit
// both 16-bit types).
#include "cuda/detail/dequant_gemm.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct Mxfp8WeightOnly {
  static constexpr const char* kName = "dequant_gemm_mxfp8_weight_only";
  static constexpr Family kFamily = Family::mxfp8_weight_only;
  static detail::DequantLaunch launch(const LayerConfig& c, RunGrouping grouping) {
    return detail::dequant_launch<detail::Mxfp8Codes, RunGrouping::one_group>(c.act_type, grouping);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_dequant_gemm_mxfp8_weight_only() {
  return std::make_shared<detail::DequantGemm<Mxfp8WeightOnly>>();
}

}  // namespace qlinear::cuda
