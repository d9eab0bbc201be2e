// store_rows (src/cpu/store_rows.hpp): the scalar twin against the reference's rounding (encode)
// of y · row scale + bias, each step rounded in fp32; the AVX-512 path against the scalar twin bit
// for bit, for every output type, with and without the row scale and the bias, one tile and a
// pair, every column count (1..16, 1..32), on values that reach every rounding case (ties,
// subnormals, overflow to infinity, ±0, ±inf, NaNs with payloads), and the output elements past
// each row's columns left alone.
#include "cpu/store_rows.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "qlinear/platform.hpp"
#include "qlinear/scalar_type.hpp"

namespace qlinear {
namespace {

constexpr int64_t kRows = 24, kStride = 37;  // the output's rows are wider than a pair
constexpr uint32_t kGuard = 0xa5a5a5a5u;

// y: random magnitudes over every binade an output type meets, and the special values.
std::vector<float> tile_values(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> y(2 * kRows * 16);
  const float specials[] = {0.f,        -0.f,       INFINITY, -INFINITY, NAN,       -NAN,
                            65504.f,    65520.f,    -65520.f, 6e-8f,     3e-8f,     1e-45f,
                            1.0039062f, 1.0058594f, 3.4e38f,  -3.4e38f,  1.17e-38f, 2.9e-39f};
  for (size_t i = 0; i < y.size(); ++i) {
    if (i % 5 == 0) {
      y[i] = specials[(i / 5) % std::size(specials)];
    } else if (i % 7 == 0) {  // a NaN with a payload
      y[i] = std::bit_cast<float>(
          static_cast<uint32_t>(0x7f800000u | (rng() & 0x007fffffu) | 1u | (rng() & 0x80000000u)));
    } else {  // bits whose low half is a rounding case: ties, just below and just above
      const auto high = static_cast<uint32_t>((rng() % 0xff) << 23 | (rng() & 0x807f0000u));
      const uint32_t lows[] = {0x8000u, 0x7fffu, 0x8001u, 0x0000u,
                               static_cast<uint32_t>(rng() & 0xffffu)};
      y[i] = std::bit_cast<float>(high | lows[rng() % 5]);
    }
  }
  return y;
}

std::vector<uint32_t> run(void (*store)(const cpu::TileRows&), ScalarType type,
                          const std::vector<float>& y, const float* row_scale, const float* bias,
                          int64_t cols, int64_t tiles = 1) {
  const size_t width = type == ScalarType::fp32 ? 4 : 2;
  std::vector<uint8_t> out(kRows * kStride * width);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(kGuard >> (8 * (i % 4)));
  store({y.data(), tiles, row_scale, bias, kRows, cols, out.data(), kStride, type});
  std::vector<uint32_t> elements(kRows * kStride);
  for (size_t i = 0; i < elements.size(); ++i) {
    uint32_t e = 0;
    std::memcpy(&e, out.data() + i * width, width);
    elements[i] = e;
  }
  return elements;
}

std::vector<float> scales() {
  std::vector<float> s(kRows);
  for (int64_t r = 0; r < kRows; ++r)
    s[r] = r % 4 == 0 ? 1.f : std::ldexp(0.75f + r / 64.f, r - 12);
  return s;
}

TEST(StoreRows, ScalarRoundsAsTheReference) {
  const std::vector<float> y = tile_values(1), row_scale = scales();
  std::vector<float> bias(32);
  for (int j = 0; j < 32; ++j) bias[j] = std::ldexp(1.f + j / 32.f, j / 2 - 8);
  for (ScalarType type : {ScalarType::bf16, ScalarType::fp16, ScalarType::fp32}) {
    const std::vector<uint32_t> got =
        run(cpu::store_rows_scalar, type, y, row_scale.data(), bias.data(), 29, 2);
    const size_t width = type == ScalarType::fp32 ? 4 : 2;
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t j = 0; j < kStride; ++j) {
        const uint32_t element = got[r * kStride + j];
        if (j >= 29) {  // past the columns: untouched
          EXPECT_EQ(element, width == 4 ? kGuard : kGuard & 0xffffu) << r << ", " << j;
          continue;
        }
        // Two fp32 roundings; the second tile's sums follow the first's rows.
        const float v = y[(j / 16) * kRows * 16 + r * 16 + j % 16] * row_scale[r] + bias[j];
        if (std::isnan(v)) {
          EXPECT_TRUE(std::isnan(decode(type, element))) << r << ", " << j;
          continue;
        }
        EXPECT_EQ(element, encode(type, v)) << name(type) << " " << r << ", " << j << ": " << v;
      }
  }
}

// y · s + b with y · s close to -b: a fused multiply-add (one rounding) differs from the product
// and the sum rounded in turn on most elements, so a contraction the compiler made would show.
std::vector<float> cancelling_values(std::vector<float>& row_scale, std::vector<float>& bias) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> unit(1.f, 2.f);
  std::vector<float> y(2 * kRows * 16);
  for (float& v : row_scale) v = unit(rng);
  for (float& v : bias) v = -unit(rng) * 1.5f;
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t j = 0; j < 32; ++j)
      y[(j / 16) * kRows * 16 + r * 16 + j % 16] = -bias[j] / row_scale[r] * (1.f + 0x1p-20f * j);
  return y;
}

TEST(StoreRows, Avx512MatchesScalar) {
  if (host_platform().cpu.isa < CpuIsa::avx512)
    GTEST_SKIP() << "needs ISA level avx512; this CPU offers " << name(host_platform().cpu.isa);
  const std::vector<float> row_scale = scales();
  std::vector<float> bias(32);
  for (int j = 0; j < 32; ++j) bias[j] = j % 3 ? std::ldexp(-1.f - j / 32.f, 2 * j - 20) : 0.f;
  std::vector<float> near_scale(kRows), near_bias(32);
  const std::vector<float> near = cancelling_values(near_scale, near_bias);
  for (ScalarType type : {ScalarType::bf16, ScalarType::fp16, ScalarType::fp32})
    ASSERT_EQ(run(cpu::store_rows_avx512, type, near, near_scale.data(), near_bias.data(), 32, 2),
              run(cpu::store_rows_scalar, type, near, near_scale.data(), near_bias.data(), 32, 2))
        << name(type) << ", y · s close to -bias";
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<float> y = tile_values(seed);
    for (ScalarType type : {ScalarType::bf16, ScalarType::fp16, ScalarType::fp32})
      for (const float* s :
           {static_cast<const float*>(nullptr), static_cast<const float*>(row_scale.data())})
        for (const float* b :
             {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())})
          for (int64_t tiles = 1; tiles <= 2; ++tiles)
            for (int64_t cols = 1; cols <= 16 * tiles; ++cols)
              ASSERT_EQ(run(cpu::store_rows_avx512, type, y, s, b, cols, tiles),
                        run(cpu::store_rows_scalar, type, y, s, b, cols, tiles))
                  << name(type) << " tiles " << tiles << " cols " << cols << (s ? " scaled" : "")
                  << (b ? " bias" : "");
  }
}

}  // namespace
}  // namespace qlinear
