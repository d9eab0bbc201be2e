// MXFP4's scales as mxfp4_weight_only_wgmma_sm90 applies them in the A fragment
// (cuda/mxfp4_fragment_scales.hpp; host code, runs in CI): the exact range derived here from the
// formats (every e8m0 code: accepted exactly where the multiplier and every product are normal
// numbers of the activation type), and a layer's bytes in the block-scale layout, with zero groups
// taking any finite scale.
#include "cuda/mxfp4_fragment_scales.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "cuda/detail/fragments.hpp"
#include "qlinear/conformance.hpp"

namespace qlinear::cuda {
namespace {

using T = ScalarType;

struct HalfType {
  T type;
  int exponent_bias, max_field, e2m1_bits_bias;  // e2m1_bits: the value times 2^-e2m1_bits_bias
};
constexpr HalfType kTypes[] = {{T::bf16, 127, 254, 126}, {T::fp16, 15, 30, 14}};

bool normal_in(const HalfType& h, double v) {
  if (v == 0) return true;
  const int e = std::ilogb(v);  // the e2m1 values have at most 2 significant bits: range only
  return e >= 1 - h.exponent_bias && e <= h.max_field - h.exponent_bias;
}

TEST(Mxfp4FragmentScales, ExactlyWhereMultiplierAndProductsAreNormal) {
  for (const HalfType& h : kTypes)
    for (uint32_t code = 0; code < 255; ++code) {
      // The multiplier the fragment needs: 2^(code - 127 + e2m1_bits_bias).
      const int power = static_cast<int>(code) - 127 + h.e2m1_bits_bias;
      bool exact = power + h.exponent_bias >= 1 && power + h.exponent_bias <= h.max_field;
      for (uint32_t w = 1; w < 8; ++w)
        exact = exact && normal_in(h, decode(T::float4_e2m1f, w) *
                                          std::ldexp(1.0, power - h.e2m1_bits_bias));
      const auto field = mxfp4_fragment_exponent(h.type, code);
      ASSERT_EQ(field.has_value(), exact) << name(h.type) << " code " << code;
      if (field) EXPECT_EQ(*field, power + h.exponent_bias) << name(h.type) << " code " << code;
    }
  EXPECT_FALSE(mxfp4_fragment_exponent(T::bf16, 255));  // NaN
  EXPECT_TRUE(mxfp4_fragment_exponent(T::bf16, 2) && mxfp4_fragment_exponent(T::bf16, 128));
  EXPECT_TRUE(mxfp4_fragment_exponent(T::fp16, 114) && mxfp4_fragment_exponent(T::fp16, 128));
}

// 20 x 96: two 16-row tiles (12 padding rows), K in 3 groups of 32 over 2 k-blocks of 64 (one
// padding group).
TEST(Mxfp4FragmentScales, LayerBytesInTheBlockScaleLayout) {
  const LayerConfig c = default_config(Family::mxfp4_weight_only, 20, 96);
  RandomLayer layer = make_random_layer(c, 1);
  const int64_t groups = 3;
  ASSERT_EQ(layer.weight_scale.numel(), 20 * groups);
  for (int64_t i = 0; i < 20 * groups; ++i) store_code(layer.weight_scale, i, 100 + i % 29);
  const auto bytes = mxfp4_fragment_scales(c, layer.weights(), 2, 2);
  ASSERT_TRUE(bytes);
  ASSERT_EQ(std::ssize(*bytes), 2 * 2 * 8 * 2 * 4);
  const uint8_t one = *mxfp4_fragment_exponent(T::bf16, 127);
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t b = 0; b < 2; ++b)
      for (int q = 0; q < 8; ++q)
        for (int h = 0; h < 2; ++h)
          for (int s = 0; s < 4; ++s) {
            const int64_t row = 16 * t + q + 8 * h, group = (4 * b + s) / 2;
            const uint8_t want =
                row < 20 && group < groups
                    ? *mxfp4_fragment_exponent(T::bf16, 100 + (row * groups + group) % 29)
                    : one;
            EXPECT_EQ((*bytes)[detail::block_scale_index(t, b, 2, q, h, s)], want)
                << "row " << row << " step " << 4 * b + s;
          }
}

// A scale outside the range refuses the layer, unless its group's codes are all ±0 (exact at any
// finite scale; NaN stays NaN in the reference, so code 255 refuses even then).
TEST(Mxfp4FragmentScales, OutOfRangeScalesAndZeroGroups) {
  const LayerConfig c = default_config(Family::mxfp4_weight_only, 16, 64);
  RandomLayer layer = make_random_layer(c, 2);
  for (int64_t i = 0; i < layer.weight_scale.numel(); ++i) store_code(layer.weight_scale, i, 120);
  for (int64_t i = 0; i < 64; ++i) store_code(layer.weight, 3 * 64 + i, 1);  // row 3: nonzero
  store_code(layer.weight_scale, 3 * 2 + 1, 200);                            // row 3, group 1
  EXPECT_FALSE(mxfp4_fragment_scales(c, layer.weights(), 1, 1));
  for (int64_t i = 32; i < 64; ++i) store_code(layer.weight, 3 * 64 + i, i % 2 ? 8 : 0);  // ±0
  const auto bytes = mxfp4_fragment_scales(c, layer.weights(), 1, 1);
  ASSERT_TRUE(bytes);
  EXPECT_EQ((*bytes)[detail::block_scale_index(0, 0, 1, 3, 0, 2)],
            *mxfp4_fragment_exponent(T::bf16, 127));
  store_code(layer.weight_scale, 3 * 2 + 1, 255);
  EXPECT_FALSE(mxfp4_fragment_scales(c, layer.weights(), 1, 1));
}

}  // namespace
}  // namespace qlinear::cuda
