// The MX formats' scales as their wgmma kernels apply them in the A fragment
// (cuda/mx_fragment_scales.hpp; host code, runs in CI): the exact range derived here from the
// formats (every e8m0 code, for e2m1 and e4m3 weights and bf16 / fp16 activations: accepted exactly
// where the multiplier and every product of a finite code are normal numbers of the activation
// type), and a layer's bytes in the block-scale layout, with zero groups taking any finite scale.
#include "cuda/mx_fragment_scales.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "cuda/detail/fragments.hpp"
#include "qlinear/conformance.hpp"

namespace qlinear::cuda {
namespace {

using T = ScalarType;

struct HalfType {
  T type;
  int exponent_bias, max_field;
  double max_finite;
};
constexpr HalfType kHalfTypes[] = {{T::bf16, 127, 254, 0x1.fep127}, {T::fp16, 15, 30, 65504.0}};

bool normal_in(const HalfType& h, double v) {
  v = std::fabs(v);
  return v == 0 || (std::ilogb(v) >= 1 - h.exponent_bias && v <= h.max_finite);
}

// The fragment's bits of a code are its value times 2^-b (formats.cuh: e2m1_bits, e4m3_bits).
int bits_bias(T weight_type, T act_type) {
  const bool bf16 = act_type == T::bf16;
  return weight_type == T::float4_e2m1f ? (bf16 ? 126 : 14) : (bf16 ? 120 : 8);
}

TEST(MxFragmentScales, ExactlyWhereMultiplierAndProductsAreNormal) {
  for (const T weight_type : {T::float4_e2m1f, T::float8_e4m3fn})
    for (const HalfType& h : kHalfTypes) {
      const int b = bits_bias(weight_type, h.type);
      const uint32_t codes = weight_type == T::float4_e2m1f ? 16 : 256;
      int accepted = 0;
      for (uint32_t code = 0; code < 255; ++code) {
        const int power = static_cast<int>(code) - 127 + b;  // the multiplier 2^power
        bool exact = power + h.exponent_bias >= 1 && power + h.exponent_bias <= h.max_field;
        for (uint32_t w = 0; w < codes; ++w) {
          const double value = decode(weight_type, w);
          if (std::isfinite(value))
            exact = exact && normal_in(h, std::ldexp(value, static_cast<int>(code) - 127));
        }
        const auto field = mx_fragment_exponent(weight_type, h.type, code);
        ASSERT_EQ(field.has_value(), exact)
            << name(weight_type) << " " << name(h.type) << " " << code;
        if (field) EXPECT_EQ(*field, power + h.exponent_bias);
        accepted += exact;
      }
      EXPECT_FALSE(mx_fragment_exponent(weight_type, h.type, 255));  // NaN
      EXPECT_GE(accepted, 13) << name(weight_type) << " " << name(h.type);
    }
  // The ranges cuda/mx_fragment_scales.hpp states.
  const auto range = [](T w, T a, uint32_t lo, uint32_t hi) {
    return mx_fragment_exponent(w, a, lo) && mx_fragment_exponent(w, a, hi) &&
           !mx_fragment_exponent(w, a, lo - 1) && !mx_fragment_exponent(w, a, hi + 1);
  };
  EXPECT_TRUE(range(T::float4_e2m1f, T::bf16, 2, 128));
  EXPECT_TRUE(range(T::float4_e2m1f, T::fp16, 114, 128));
  EXPECT_TRUE(range(T::float8_e4m3fn, T::bf16, 10, 134));
  EXPECT_TRUE(range(T::float8_e4m3fn, T::fp16, 122, 134));
}

// 20 x 96: two 16-row tiles (12 padding rows), K in 3 groups of 32: mxfp4 over 2 k-blocks of 64
// (one padding group; 2 slots a row and k-block), mxfp8 over 3 k-blocks of 32 (1 slot); a slot a
// group.
TEST(MxFragmentScales, LayerBytesInTheBlockScaleLayout) {
  for (const Family family : {Family::mxfp4_weight_only, Family::mxfp8_weight_only}) {
    const LayerConfig c = default_config(family, 20, 96);
    const int block_k = family == Family::mxfp4_weight_only ? 64 : 32, kblocks = 128 / block_k;
    const int slots = block_k / 32;
    RandomLayer layer = make_random_layer(c, 1);
    const int64_t groups = 3;
    ASSERT_EQ(layer.weight_scale.numel(), 20 * groups);
    for (int64_t i = 0; i < 20 * groups; ++i) store_code(layer.weight_scale, i, 106 + i % 23);
    const auto bytes = mx_fragment_scales(c, layer.weights(), 2, kblocks, block_k);
    ASSERT_TRUE(bytes);
    ASSERT_EQ(std::ssize(*bytes), 2 * kblocks * 8 * 2 * slots);
    const auto field = [&](uint32_t code) {
      return *mx_fragment_exponent(c.weight_type, T::bf16, code);
    };
    for (int64_t t = 0; t < 2; ++t)
      for (int b = 0; b < kblocks; ++b)
        for (int q = 0; q < 8; ++q)
          for (int h = 0; h < 2; ++h)
            for (int s = 0; s < slots; ++s) {
              const int64_t row = 16 * t + q + 8 * h, group = (b * block_k + s * 32) / 32;
              const uint8_t want = row < 20 && group < groups
                                       ? field(106 + (row * groups + group) % 23)
                                       : field(127);
              EXPECT_EQ((*bytes)[detail::block_scale_index(t, b, kblocks, q, h, s, slots)], want)
                  << name(family) << " row " << row << " k-block " << b << " slot " << s;
            }
    // The fragments' side: the byte a lane of quad q reads for row q + 8h at each k16 step
    // (mx_scale_byte, of the 2·slots bytes it loads) holds that row's group at that step.
    for (int64_t t = 0; t < 2; ++t)
      for (int b = 0; b < kblocks; ++b)
        for (int q = 0; q < 8; ++q) {
          const uint8_t* lane =
              bytes->data() + detail::block_scale_index(t, b, kblocks, q, 0, 0, slots);
          for (int h = 0; h < 2; ++h)
            for (int step = 0; step < block_k / 16; ++step) {
              const int64_t row = 16 * t + q + 8 * h, group = (b * block_k + step * 16) / 32;
              const uint8_t want = row < 20 && group < groups
                                       ? field(106 + (row * groups + group) % 23)
                                       : field(127);
              EXPECT_EQ(lane[mx_scale_byte(slots, h, step)], want)
                  << name(family) << " row " << row << " k-block " << b << " step " << step;
            }
        }
  }
}

// A scale outside the range refuses the layer, unless its group's codes are all ±0 (exact at any
// finite scale; NaN stays NaN in the reference, so code 255 refuses even then).
TEST(MxFragmentScales, OutOfRangeScalesAndZeroGroups) {
  for (const Family family : {Family::mxfp4_weight_only, Family::mxfp8_weight_only}) {
    const LayerConfig c = default_config(family, 16, 64);
    const int block_k = family == Family::mxfp4_weight_only ? 64 : 32, kblocks = 64 / block_k;
    const uint32_t minus_zero = family == Family::mxfp4_weight_only ? 0x8 : 0x80;
    RandomLayer layer = make_random_layer(c, 2);
    for (int64_t i = 0; i < layer.weight_scale.numel(); ++i) store_code(layer.weight_scale, i, 120);
    for (int64_t i = 0; i < 64; ++i) store_code(layer.weight, 3 * 64 + i, 1);  // row 3: nonzero
    store_code(layer.weight_scale, 3 * 2 + 1, 200);                            // row 3, group 1
    EXPECT_FALSE(mx_fragment_scales(c, layer.weights(), 1, kblocks, block_k)) << name(family);
    for (int64_t i = 32; i < 64; ++i) store_code(layer.weight, 3 * 64 + i, i % 2 ? minus_zero : 0);
    const auto bytes = mx_fragment_scales(c, layer.weights(), 1, kblocks, block_k);
    ASSERT_TRUE(bytes) << name(family);
    // Row 3's group 1 (K 32..63): mxfp4 slot 1 of k-block 0, mxfp8 k-block 1.
    const int64_t at = family == Family::mxfp4_weight_only
                           ? detail::block_scale_index(0, 0, kblocks, 3, 0, 1, 2)
                           : detail::block_scale_index(0, 1, kblocks, 3, 0, 0, 1);
    EXPECT_EQ((*bytes)[at], *mx_fragment_exponent(c.weight_type, T::bf16, 127)) << name(family);
    store_code(layer.weight_scale, 3 * 2 + 1, 255);
    EXPECT_FALSE(mx_fragment_scales(c, layer.weights(), 1, kblocks, block_k)) << name(family);
  }
}

}  // namespace
}  // namespace qlinear::cuda
