// Every 4- and 8-bit code of every format against the value its specification gives, written out
// here independently of the table; rounding ties and saturation as the specifications say.
#include "qlinear/scalar_type.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "qlinear/error.hpp"
#include "spec_formats.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
using namespace spec;

void expect_same_value(double want, double got, const std::string& where) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << where;
  } else {
    EXPECT_EQ(want, got) << where;
    EXPECT_EQ(std::signbit(want), std::signbit(got)) << where << " (sign of zero)";
  }
}

constexpr T kSmallTypes[] = {T::int8,        T::uint8,          T::uint4b8,
                             T::uint4,       T::uint8b128,      T::float8_e4m3fn,
                             T::float8_e5m2, T::float8_e8m0fnu, T::float4_e2m1f};

TEST(ScalarType, EverySmallCodeDecodesToItsSpecifiedValueAndReencodesToItself) {
  for (T type : kSmallTypes) {
    const int codes = 1 << info(type).bits;
    for (uint32_t c = 0; c < static_cast<uint32_t>(codes); ++c) {
      const std::string where = std::string(name(type)) + " code " + std::to_string(c);
      const double want = spec_value(type, c);
      expect_same_value(want, decode(type, c), where);
      if (!std::isnan(want)) EXPECT_EQ(c, encode(type, want)) << where;
    }
  }
}

TEST(ScalarType, TableFields) {
  EXPECT_EQ(info(T::float8_e4m3fn).max_finite, 448.0);
  EXPECT_EQ(info(T::float8_e5m2).max_finite, 57344.0);
  EXPECT_EQ(info(T::float4_e2m1f).max_finite, 6.0);
  EXPECT_EQ(info(T::float8_e8m0fnu).max_finite, std::ldexp(1.0, 127));
  EXPECT_EQ(info(T::fp16).max_finite, 65504.0);
  EXPECT_EQ(info(T::bf16).max_finite, static_cast<double>(std::bit_cast<float>(0x7f7f0000u)));
  EXPECT_EQ(info(T::uint4b8).bias, 8);
  EXPECT_EQ(info(T::uint8b128).bias, 128);
  EXPECT_EQ(info(T::float4_e2m1f).bits, 4);
  EXPECT_FALSE(info(T::float8_e8m0fnu).is_signed);
  for (T t : all_scalar_types()) {
    EXPECT_EQ(parse_scalar_type(name(t)), t);
    EXPECT_GE(encode(t, info(t).max_finite), 0u);
    EXPECT_EQ(decode(t, encode(t, info(t).max_finite)), info(t).max_finite) << name(t);
  }
  EXPECT_EQ(parse_scalar_type("bfloat16"), T::bf16);
  EXPECT_EQ(parse_scalar_type("nope"), std::nullopt);
  EXPECT_EQ(storage_bytes(T::uint4b8, 5), 3);
  EXPECT_EQ(storage_bytes(T::bf16, 5), 10);
}

TEST(ScalarType, E4m3RoundsTiesToEvenAndSaturates) {
  const T t = T::float8_e4m3fn;
  EXPECT_EQ(decode(t, encode(t, 1.0625)), 1.0);   // halfway 1 and 1.125: even mantissa 000
  EXPECT_EQ(decode(t, encode(t, 1.1875)), 1.25);  // halfway 1.125 and 1.25: even mantissa 010
  EXPECT_EQ(decode(t, encode(t, 464.0)), 448.0);  // halfway 448 and 480 (480 is NaN's code)
  EXPECT_EQ(encode(t, 1e9), 0x7eu);               // saturates (OCP satfinite, as the GPUs convert)
  EXPECT_EQ(encode(t, -INFINITY), 0xfeu);
  EXPECT_EQ(encode(t, NAN), 0x7fu);
  EXPECT_EQ(encode(t, std::ldexp(1.0, -10)), 0x00u);       // halfway 0 and the least subnormal
  EXPECT_EQ(encode(t, 1.5 * std::ldexp(1.0, -9)), 0x02u);  // halfway subnormals 1 and 2: 2
  EXPECT_EQ(encode(t, -std::ldexp(1.0, -11)), 0x80u);      // rounds to -0
  // Without saturation, a format without infinity overflows to NaN.
  EXPECT_EQ(encode(t, 1e9, Overflow::to_infinity), 0x7fu);
}

TEST(ScalarType, E5m2OverflowsToInfinityUnlessSaturating) {
  const T t = T::float8_e5m2;
  EXPECT_EQ(encode(t, 61440.0), 0x7cu);  // halfway 57344 and 65536: rounds up, past max: inf
  EXPECT_EQ(encode(t, 60000.0), 0x7bu);  // nearer 57344
  EXPECT_EQ(encode(t, 61440.0, Overflow::saturate), 0x7bu);
  EXPECT_EQ(encode(t, -INFINITY), 0xfcu);
  EXPECT_EQ(decode(t, encode(t, 1.125)), 1.0);  // halfway 1 and 1.25: even
  EXPECT_EQ(decode(t, encode(t, 1.375)), 1.5);
}

TEST(ScalarType, E2m1RoundsTiesToEvenAndSaturates) {
  const T t = T::float4_e2m1f;
  EXPECT_EQ(decode(t, encode(t, 5.0)), 4.0);  // 4 = 1.0·2², 6 = 1.1·2²: even is 4
  EXPECT_EQ(decode(t, encode(t, 2.5)), 2.0);
  EXPECT_EQ(decode(t, encode(t, 3.5)), 4.0);
  EXPECT_EQ(decode(t, encode(t, 0.25)), 0.0);  // halfway 0 and 0.5
  EXPECT_EQ(decode(t, encode(t, 0.75)), 1.0);  // halfway 0.5 (odd) and 1.0 (even)
  EXPECT_EQ(decode(t, encode(t, 100.0)), 6.0);
  EXPECT_EQ(decode(t, encode(t, -7.0)), -6.0);
  EXPECT_THROW(encode(t, NAN), Error);  // E2M1 has no NaN
}

TEST(ScalarType, E8m0IsPowersOfTwo) {
  const T t = T::float8_e8m0fnu;
  EXPECT_EQ(encode(t, 32.0), 132u);
  EXPECT_EQ(encode(t, 40.0), 132u);  // nearer 32
  EXPECT_EQ(encode(t, 56.0), 133u);  // nearer 64
  EXPECT_EQ(encode(t, 48.0), 132u);  // halfway 32 (code 132, even) and 64 (code 133)
  EXPECT_EQ(encode(t, 96.0), 134u);  // halfway 64 (133) and 128 (134, even)
  EXPECT_EQ(encode(t, 0.0), 0u);     // no zero: the least value 2^-127
  EXPECT_EQ(encode(t, std::ldexp(1.0, 200)), 254u);  // saturates at 2^127
  EXPECT_EQ(encode(t, NAN), 255u);
  EXPECT_THROW(encode(t, -1.0), Error);  // unsigned
}

TEST(ScalarType, IntegersRoundTiesToEvenAndSaturate) {
  EXPECT_EQ(encode(T::uint4b8, 2.5), 10u);  // 2 + 8
  EXPECT_EQ(encode(T::uint4b8, 3.5), 12u);  // 4 + 8
  EXPECT_EQ(encode(T::uint4b8, 7.6), 15u);
  EXPECT_EQ(encode(T::uint4b8, -9.0), 0u);
  EXPECT_EQ(encode(T::int8, -128.4), 0x80u);
  EXPECT_EQ(encode(T::int8, 127.5), 0x7fu);
  EXPECT_EQ(encode(T::int8, -0.5), 0u);
  EXPECT_EQ(encode(T::uint8, -3.0), 0u);
  EXPECT_EQ(encode(T::uint8b128, -128.0), 0u);
  EXPECT_EQ(encode(T::int32, 1e12), 0x7fffffffu);
  EXPECT_EQ(decode(T::int32, 0x80000000u), -2147483648.0);
  EXPECT_THROW(encode(T::int8, NAN), Error);
}

// bf16 is the top half of fp32, rounded to nearest even: the classic bit trick, independently.
uint32_t bf16_by_bit_trick(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if (std::isnan(f)) return 0x7fc0;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

TEST(ScalarType, Bf16Fp16Fp32MatchTheHardwareConversions) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    const float f = std::bit_cast<float>(bits(rng));
    if (std::isnan(f)) continue;
    ASSERT_EQ(encode(T::bf16, f), bf16_by_bit_trick(f)) << f;
    // _Float16 conversions are IEEE round-to-nearest-even on x86-64 (GCC >= 12).
    const auto h = static_cast<_Float16>(f);
    uint16_t hb;
    std::memcpy(&hb, &h, 2);
    ASSERT_EQ(encode(T::fp16, f), hb) << f;
    ASSERT_EQ(decode(T::fp16, hb), static_cast<double>(static_cast<float>(h))) << f;
    const double d =
        std::ldexp(static_cast<double>(bits(rng)) + 0.5, static_cast<int>(bits(rng) % 300) - 180);
    ASSERT_EQ(encode(T::fp32, d), std::bit_cast<uint32_t>(static_cast<float>(d))) << d;
    ASSERT_EQ(decode(T::fp32, std::bit_cast<uint32_t>(f)), static_cast<double>(f));
  }
  EXPECT_EQ(encode(T::fp16, 65520.0), 0x7c00u);  // halfway past max: to infinity
  EXPECT_EQ(encode(T::bf16, NAN), 0x7fc0u);
}

// encode()'s fast path for the float types with a mantissa gives the codes of the one rounding rule
// (detail::encode_by_quantum) on random doubles of every binade around each type's normal range
// (subnormals and overflow included), zeros, exact ties (a significand ending in a half), the last
// binade's carry, and for the 8- and 4-bit types every code's value and every midpoint between
// neighbouring codes; e8m0, which it leaves to the rule, too.
TEST(ScalarType, TheFastPathRoundsAsTheQuantumRule) {
  std::mt19937_64 rng(7);
  for (T type : {T::bf16, T::fp16, T::fp32, T::float8_e4m3fn, T::float8_e5m2, T::float4_e2m1f,
                 T::float8_e8m0fnu}) {
    const auto& f = info(type);
    for (int i = 0; i < 300000; ++i) {
      const uint64_t word = rng();
      const int e = static_cast<int>(word % static_cast<uint64_t>(2 * f.exponent_bias + 8)) -
                    f.exponent_bias - 3;
      double v = std::ldexp(1.0 + static_cast<double>(word >> 12) * 0x1p-52, e);
      if (i % 3 == 0) {  // a tie: the type's significand plus half a quantum
        const double quantum = std::ldexp(1.0, e - f.mantissa_bits);
        v = std::ldexp(std::floor(std::ldexp(v, f.mantissa_bits - e)), e - f.mantissa_bits) +
            quantum / 2;
      }
      if (i % 5 == 0 && f.is_signed) v = -v;
      if (i % 7 == 0) v = 0.0;
      for (Overflow o : {Overflow::saturate, f.overflow})
        ASSERT_EQ(encode(type, v, o), detail::encode_by_quantum(type, v, o))
            << name(type) << " " << v;
    }
    // Every code's value, and the midpoints between neighbouring codes (the ties), both signs.
    for (uint32_t code = 0; code < (1u << f.bits) && f.bits <= 8; ++code) {
      const double v = decode(type, code), next = decode(type, code + 1);
      if (!std::isfinite(v)) continue;
      for (double w : {v, std::isfinite(next) ? (v + next) / 2 : v})
        for (Overflow o : {Overflow::saturate, f.overflow})
          ASSERT_EQ(encode(type, w, o), detail::encode_by_quantum(type, w, o))
              << name(type) << " " << w;
    }
    // The largest finite value, and a value that rounds up past it.
    ASSERT_EQ(encode(type, f.max_finite),
              detail::encode_by_quantum(type, f.max_finite, f.overflow));
    const double past = f.max_finite + std::ldexp(1.0, f.exponent_bias - f.mantissa_bits - 1);
    ASSERT_EQ(encode(type, past), detail::encode_by_quantum(type, past, f.overflow));
  }
}

}  // namespace
}  // namespace qlinear
