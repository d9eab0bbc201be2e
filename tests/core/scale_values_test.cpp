// values_as_fp32 (core/scale_values.hpp), the scales' conversion at load: every bf16, fp16 and
// one-byte float code to the value the type table decodes, bit for bit (a NaN to a NaN), and the
// other types through load_value.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/scale_values.hpp"

namespace qlinear {
namespace {

void expect_every_code_as_decode(ScalarType type) {
  const int64_t codes = int64_t{1} << info(type).bits;
  Tensor t = Tensor::empty(type, {codes});
  for (int64_t c = 0; c < codes; ++c) store_code(t, c, static_cast<uint32_t>(c));
  const std::vector<float> got = values_as_fp32(t);
  ASSERT_EQ(std::ssize(got), codes);
  for (int64_t c = 0; c < codes; ++c) {
    const double want = decode(type, static_cast<uint32_t>(c));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got[c])) << name(type) << " code " << c;
    } else {
      EXPECT_EQ(std::signbit(got[c]), std::signbit(want)) << name(type) << " code " << c;
      EXPECT_EQ(static_cast<double>(got[c]), want) << name(type) << " code " << c;
    }
  }
}

TEST(ValuesAsFp32, EveryCodeAsTheTypeTableDecodesIt) {
  for (const ScalarType type : {ScalarType::bf16, ScalarType::fp16, ScalarType::float8_e4m3fn,
                                ScalarType::float8_e8m0fnu, ScalarType::uint8})
    expect_every_code_as_decode(type);
}

TEST(ValuesAsFp32, Fp32AsItIs) {
  Tensor t = Tensor::empty(ScalarType::fp32, {4});
  const float values[4] = {1.5f, -0x1p-149f, 3e38f, -0.f};
  std::memcpy(t.data(), values, sizeof values);
  const std::vector<float> got = values_as_fp32(t);
  EXPECT_EQ(std::memcmp(got.data(), values, sizeof values), 0);
}

}  // namespace
}  // namespace qlinear
