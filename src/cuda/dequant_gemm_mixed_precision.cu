// dequant_gemm_mixed_precision: the mixed_precision family (uint4b8, uint4 with zero points,
// uint8b128, uint8 with zero points, int8; per-channel or group scales in bf16 / fp16 / fp32; act
// order) dequantized per call to the activation type, then one cuBLASLt GEMM
// (cuda/detail/dequant_gemm.cuh). For prefill: the decode kernels are w4a16_mma_sm80 and
// w8a16_mma_sm80.
//
// Format: a run is 32 4-bit codes (two a byte, low nibble first, as stored) or 16 8-bit codes.
// Each code becomes 2^23 + u in fp32 by placing it in the mantissa of 2^23 (int8 as code ^ 0x80,
// i.e. code + 128), and 2^23 + z is subtracted, z the group's zero point (uint4, uint8) or 8 /
// 128: u - z exactly. The scales are converted to fp32 once (bf16 / fp16 exactly), so
// (u - z) · scale is exact for bf16 / fp16 scales (at most 9 × 11 significant bits) and one fp32
// rounding for fp32 ones. Groups that are a multiple of the run read their scale and zero point
// once a run, groups of half a run once a half; act order and every other group size a group per
// K position (g_idx, or k / group_size), which reads a scale and zero point per weight (L1 hits:
// one row's scales are a few hundred bytes).
#include "cuda/detail/dequant_gemm.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct MixedPrecision {
  static constexpr const char* kName = "dequant_gemm_mixed_precision";
  static constexpr Family kFamily = Family::mixed_precision;
  static detail::DequantLaunch launch(const LayerConfig& c, RunGrouping grouping) {
    constexpr auto kOne = RunGrouping::one_group, kTwo = RunGrouping::two_groups,
                   kTable = RunGrouping::per_position;
    return info(c.weight_type).bits == 4
               ? detail::dequant_launch<detail::IntegerCodes<4>, kOne, kTwo, kTable>(c.act_type,
                                                                                     grouping)
               : detail::dequant_launch<detail::IntegerCodes<8>, kOne, kTwo, kTable>(c.act_type,
                                                                                     grouping);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_dequant_gemm_mixed_precision() {
  return std::make_shared<detail::DequantGemm<MixedPrecision>>();
}

}  // namespace qlinear::cuda
