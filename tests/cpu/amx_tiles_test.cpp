// The AMX tile model (src/cpu/amx_tiles.hpp) that stands in for the tile instructions where the
// CPU has no AMX: its multiplies against plain loops over the same bytes, the faults it must
// raise where the hardware would, and, on a CPU with AMX, the hardware against the model on the
// same tiles.
#include "cpu/amx_tiles.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "qlinear/platform.hpp"

namespace qlinear::cpu {
namespace {

// tmm0: C (rows x n columns of 4 bytes); tmm1: A (rows x k_bytes); tmm2: B (k_bytes / 4 rows x
// n columns of 4 bytes).
TileConfig shapes(int rows, int k_bytes, int n) {
  TileConfig config;
  config.rows[0] = config.rows[1] = static_cast<uint8_t>(rows);
  config.colsb[0] = config.colsb[2] = static_cast<uint16_t>(4 * n);
  config.colsb[1] = static_cast<uint16_t>(k_bytes);
  config.rows[2] = static_cast<uint8_t>(k_bytes / 4);
  return config;
}

struct Operands {
  int rows, k_bytes, n;
  std::vector<uint8_t> a, b;  // row-major, rows of 64 bytes
  std::vector<uint8_t> c;     // the accumulator's start, rows of 64 bytes
};

Operands random_operands(int rows, int k_bytes, int n, bool bf16, uint32_t seed) {
  std::mt19937 rng(seed);
  Operands o{rows,
             k_bytes,
             n,
             std::vector<uint8_t>(16 * 64),
             std::vector<uint8_t>(16 * 64),
             std::vector<uint8_t>(16 * 64)};
  const auto bf16_bits = [&](float lo, float hi) {
    const float v = std::uniform_real_distribution<float>(lo, hi)(rng);
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    return static_cast<uint16_t>(bits >> 16);
  };
  for (auto* bytes : {&o.a, &o.b}) {
    if (bf16)
      for (size_t i = 0; i < bytes->size(); i += 2) {
        const uint16_t v = bf16_bits(-4.f, 4.f);
        std::memcpy(bytes->data() + i, &v, 2);
      }
    else
      for (uint8_t& v : *bytes) v = static_cast<uint8_t>(rng());
  }
  for (size_t i = 0; i < o.c.size(); i += 4) {
    if (bf16) {
      const float v = std::uniform_real_distribution<float>(-100.f, 100.f)(rng);
      std::memcpy(o.c.data() + i, &v, 4);
    } else {
      const auto v = static_cast<int32_t>(rng());
      std::memcpy(o.c.data() + i, &v, 4);
    }
  }
  return o;
}

// C after one multiply through Tiles, rows of 64 bytes.
template <class Tiles, bool Bf16>
std::vector<uint8_t> multiply(const Operands& o) {
  Tiles::configure(shapes(o.rows, o.k_bytes, o.n));
  Tiles::template load<0>(o.c.data(), 64);
  Tiles::template load<1>(o.a.data(), 64);
  Tiles::template load<2>(o.b.data(), 64);
  if constexpr (Bf16)
    Tiles::template dpbf16ps<0, 1, 2>();
  else
    Tiles::template dpbusd<0, 1, 2>();
  std::vector<uint8_t> c(16 * 64, 0xee);  // poisoned: only the tile's shape is written
  Tiles::template store<0>(c.data(), 64);
  Tiles::release();
  return c;
}

float bf16_at(const std::vector<uint8_t>& bytes, int offset) {
  uint16_t bits;
  std::memcpy(&bits, bytes.data() + offset, 2);
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}

TEST(AmxModel, DpbusdIsTheSumOfUnsignedTimesSignedBytes) {
  for (const auto [rows, k_bytes, n] : {std::tuple{16, 64, 16}, {7, 32, 16}, {16, 16, 5}}) {
    const Operands o = random_operands(rows, k_bytes, n, false, 7);
    const std::vector<uint8_t> c = multiply<AmxModel, false>(o);
    for (int m = 0; m < 16; ++m)
      for (int j = 0; j < 16; ++j) {
        int32_t got;
        std::memcpy(&got, c.data() + m * 64 + 4 * j, 4);
        if (m >= rows || j >= n) {
          EXPECT_EQ(static_cast<uint32_t>(got), 0xeeeeeeeeu) << "written outside the shape";
          continue;
        }
        int32_t want;
        std::memcpy(&want, o.c.data() + m * 64 + 4 * j, 4);
        int64_t sum = want;
        for (int i = 0; i < k_bytes; ++i)
          sum += o.a[m * 64 + i] * static_cast<int8_t>(o.b[(i / 4) * 64 + 4 * j + i % 4]);
        EXPECT_EQ(got, static_cast<int32_t>(static_cast<uint32_t>(sum)))
            << rows << "x" << k_bytes << "x" << n << " at " << m << "," << j;
      }
  }
}

TEST(AmxModel, Dpbf16psSumsExactProductsInFp32) {
  const Operands o = random_operands(16, 64, 16, true, 9);
  const std::vector<uint8_t> c = multiply<AmxModel, true>(o);
  for (int m = 0; m < 16; ++m)
    for (int j = 0; j < 16; ++j) {
      float got, start;
      std::memcpy(&got, c.data() + m * 64 + 4 * j, 4);
      std::memcpy(&start, o.c.data() + m * 64 + 4 * j, 4);
      double exact = start, magnitude = std::fabs(start);
      for (int i = 0; i < 32; ++i) {
        const double product = static_cast<double>(bf16_at(o.a, m * 64 + 2 * i)) *
                               bf16_at(o.b, (i / 2) * 64 + 4 * j + 2 * (i % 2));
        exact += product;
        magnitude += std::fabs(product);
      }
      // 32 additions in fp32 of exact products.
      EXPECT_NEAR(got, exact, 33 * std::ldexp(magnitude, -24)) << m << "," << j;
    }
}

TEST(AmxModel, Dpbf16psTreatsSubnormalInputsAsZero) {
  Operands o = random_operands(1, 4, 1, true, 11);
  std::fill(o.c.begin(), o.c.end(), 0);
  const uint16_t subnormal = 0x0040, one = 0x3f80;  // 2^-127 (bf16 subnormal), 1.0
  std::memcpy(o.a.data(), &subnormal, 2);
  std::memcpy(o.a.data() + 2, &one, 2);
  std::memcpy(o.b.data(), &one, 2);
  std::memcpy(o.b.data() + 2, &subnormal, 2);
  const std::vector<uint8_t> c = multiply<AmxModel, true>(o);
  float got;
  std::memcpy(&got, c.data(), 4);
  EXPECT_EQ(got, 0.f);
}

using AmxModelDeathTest = ::testing::Test;

TEST_F(AmxModelDeathTest, FaultsWhereTheHardwareWould) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TileConfig palette2;
  palette2.palette = 2;
  EXPECT_DEATH(AmxModel::configure(palette2), "palette");
  TileConfig tall = shapes(16, 64, 16);
  tall.rows[3] = 17, tall.colsb[3] = 64;
  EXPECT_DEATH(AmxModel::configure(tall), "larger than 16 rows");
  TileConfig half = shapes(16, 64, 16);
  half.rows[3] = 4;
  EXPECT_DEATH(AmxModel::configure(half), "both zero or both set");
  EXPECT_DEATH(
      {
        AmxModel::configure(shapes(16, 64, 16));
        AmxModel::zero<5>();
      },
      "before it is configured");
  EXPECT_DEATH(
      {
        AmxModel::release();
        AmxModel::zero<0>();
      },
      "before it is configured");
  const auto dpbusd = [] { AmxModel::dpbusd<0, 1, 2>(); };
  const auto dpbf16ps = [] { AmxModel::dpbf16ps<0, 1, 2>(); };
  TileConfig k_mismatch = shapes(16, 64, 16);
  k_mismatch.rows[2] = 8;  // B has 8 rows, A's rows hold 16 dwords
  EXPECT_DEATH(
      {
        AmxModel::configure(k_mismatch);
        dpbusd();
      },
      "colsb\\(A\\) / 4 != rows\\(B\\)");
  TileConfig rows_mismatch = shapes(16, 64, 16);
  rows_mismatch.rows[1] = 8;
  EXPECT_DEATH(
      {
        AmxModel::configure(rows_mismatch);
        dpbf16ps();
      },
      "rows\\(C\\) != rows\\(A\\)");
}

// Where the CPU has AMX, the instructions and the model agree: int8 sums bit for bit, bf16 sums
// within the rounding of their fp32 additions (the hardware may order them differently).
TEST(AmxHardware, AgreesWithTheModel) {
  const CpuFeatures& f = host_platform().cpu;  // detection requests the tile-data permission
  if (!(f.amx_tile && f.amx_int8 && f.amx_bf16 && f.amx_permitted))
    GTEST_SKIP() << "no usable AMX on this CPU (" << f.brand
                 << "): the _amx kernels run through the model here";
  for (const auto [rows, k_bytes, n] : {std::tuple{16, 64, 16}, {7, 32, 16}, {16, 16, 5}}) {
    const Operands ints = random_operands(rows, k_bytes, n, false, 13);
    const std::vector<uint8_t> hardware_sums = multiply<AmxHardware, false>(ints);
    EXPECT_EQ(hardware_sums, (multiply<AmxModel, false>(ints)));
    const Operands pairs = random_operands(rows, k_bytes, n, true, 17);
    const std::vector<uint8_t> hardware = multiply<AmxHardware, true>(pairs);
    const std::vector<uint8_t> model = multiply<AmxModel, true>(pairs);
    for (int m = 0; m < rows; ++m)
      for (int j = 0; j < n; ++j) {
        float h, s;
        std::memcpy(&h, hardware.data() + m * 64 + 4 * j, 4);
        std::memcpy(&s, model.data() + m * 64 + 4 * j, 4);
        EXPECT_NEAR(h, s, 1e-4 * (std::fabs(s) + 100)) << m << "," << j;
      }
  }
}

}  // namespace
}  // namespace qlinear::cpu
