// round_codes and NVFP4's group rounding (src/cpu/round_codes.hpp): the scalar twins against the
// exact encoder (decode(encode(·)) with saturation), and every vector path this CPU runs against
// its scalar twin bit for bit, on values that reach every rounding case: random magnitudes over the
// formats' whole range and beyond, ties, subnormals, ±0, ±inf and NaN, with lengths off the 16-lane
// grid.
#include "cpu/round_codes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "qlinear/platform.hpp"
#include "qlinear/scalar_type.hpp"

namespace qlinear {
namespace {

std::vector<float> values(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> exponent(-24.f, 12.f), unit(-1.f, 1.f);
  std::vector<float> v;
  for (int i = 0; i < 4000; ++i) v.push_back(unit(rng) * std::exp2(exponent(rng)));
  // Ties and the codes themselves: every multiple of 2^-11 up to 2^10 (e4m3's and e2m1's
  // quanta and half-quanta), both signs.
  for (int i = 0; i < 2048; ++i) {
    v.push_back(std::ldexp(static_cast<float>(i), -11) * static_cast<float>(1 << (i % 22)));
    v.push_back(-v.back());
  }
  for (float special :
       {0.f, -0.f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
        std::numeric_limits<float>::quiet_NaN(), 1e-40f, -1e-40f, 448.f, 464.f, 480.f, 6.f, 7.f,
        1e30f})
    v.push_back(special);
  return v;
}

std::vector<uint32_t> run(void (*round)(const cpu::CodeRounding&), const std::vector<float>& v,
                          int64_t n, float factor, bool multiply, bool e2m1) {
  std::vector<float> q(v.size(), 12345.f);  // past n: must stay
  round({v.data(), q.data(), n, factor, multiply, e2m1});
  std::vector<uint32_t> bits;
  for (float x : q) bits.push_back(std::bit_cast<uint32_t>(x));
  return bits;
}

TEST(RoundCodes, ScalarIsTheExactEncoder) {
  const std::vector<float> v = values(1);
  for (bool e2m1 : {false, true})
    for (bool multiply : {false, true}) {
      const float factor = multiply ? 0.75f : 3.5f;
      const ScalarType type = e2m1 ? ScalarType::float4_e2m1f : ScalarType::float8_e4m3fn;
      std::vector<float> q(v.size());
      cpu::round_codes_scalar(
          {v.data(), q.data(), static_cast<int64_t>(v.size()), factor, multiply, e2m1});
      for (size_t i = 0; i < v.size(); ++i) {
        const float scaled = multiply ? v[i] * factor : v[i] / factor;
        if (std::isnan(scaled)) {
          EXPECT_TRUE(std::isnan(q[i])) << i;
          continue;
        }
        const double want = decode(type, encode(type, scaled, Overflow::saturate));
        ASSERT_EQ(static_cast<double>(q[i]), want)
            << "value " << scaled << (e2m1 ? " to e2m1" : " to e4m3");
      }
    }
}

TEST(RoundCodes, Avx512MatchesScalar) {
  if (host_platform().cpu.isa < CpuIsa::avx512)
    GTEST_SKIP() << "needs ISA level avx512; this CPU offers " << name(host_platform().cpu.isa);
  const std::vector<float> v = values(2);
  for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{17}, static_cast<int64_t>(v.size())})
    for (bool e2m1 : {false, true})
      for (bool multiply : {false, true})
        for (float factor : {1.f, 0.3f, 7.f / 448.f})
          EXPECT_EQ(run(cpu::round_codes_avx512, v, n, factor, multiply, e2m1),
                    run(cpu::round_codes_scalar, v, n, factor, multiply, e2m1))
              << "n " << n << (e2m1 ? " e2m1" : " e4m3") << (multiply ? " multiply " : " divide ")
              << factor;
}

std::vector<uint32_t> run_nvfp4(void (*round)(const cpu::Nvfp4Rounding&),
                                const std::vector<float>& v, int64_t n, float global) {
  std::vector<float> q(v.size(), 12345.f);  // past n: must stay
  round({v.data(), q.data(), n, global});
  std::vector<uint32_t> bits;
  for (float x : q) bits.push_back(std::bit_cast<uint32_t>(x));
  return bits;
}

// NVFP4's groups of 16: the scale is the exact e4m3 encoding of global · amax / 6 (amax over the
// group's finite and infinite |v|, NaN left out), each code the exact e2m1 encoding of v times
// 1 / (sf / global), times sf.
TEST(RoundCodes, Nvfp4GroupsScalarIsTheExactEncoder) {
  const std::vector<float> v = values(3);
  const auto e4m3 = [](double x) {
    return decode(ScalarType::float8_e4m3fn,
                  encode(ScalarType::float8_e4m3fn, x, Overflow::saturate));
  };
  for (float global : {1.f, 448.f * 6.f / 3.5f, 0.01f}) {
    std::vector<float> q(v.size());
    const int64_t n = static_cast<int64_t>(v.size());
    cpu::round_nvfp4_groups_scalar({v.data(), q.data(), n, global});
    for (int64_t k0 = 0; k0 < n; k0 += 16) {
      float amax = 0;
      for (int64_t i = k0; i < std::min(n, k0 + 16); ++i)
        if (!std::isnan(v[i])) amax = std::max(amax, std::fabs(v[i]));
      const float sf = static_cast<float>(e4m3(global * (amax / 6.f)));
      const float multiplier = sf != 0 ? 1.f / (sf * (1.f / global)) : 0.f;
      for (int64_t i = k0; i < std::min(n, k0 + 16); ++i) {
        const float scaled = v[i] * multiplier;
        if (std::isnan(scaled)) {
          EXPECT_TRUE(std::isnan(q[i])) << i;
          continue;
        }
        const double code = decode(ScalarType::float4_e2m1f,
                                   encode(ScalarType::float4_e2m1f, scaled, Overflow::saturate));
        ASSERT_EQ(static_cast<double>(q[i]), code * sf) << "value " << v[i] << " global " << global;
      }
    }
  }
}

TEST(RoundCodes, AmaxLeavesNaNOutAndMatchesScalar) {
  const std::vector<float> v = values(5);  // ends with ±0, ±inf, NaN and a few finite values
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> small = {nan, -3.f, 2.f, nan};
  EXPECT_EQ(cpu::amax_scalar(small.data(), 4), 3.f);
  EXPECT_EQ(cpu::amax_scalar(small.data(), 0), 0.f);
  if (host_platform().cpu.isa < CpuIsa::avx512)
    GTEST_SKIP() << "needs ISA level avx512; this CPU offers " << name(host_platform().cpu.isa);
  EXPECT_EQ(cpu::amax_avx512(small.data(), 4), 3.f);
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{15}, int64_t{17}, int64_t{4000},
                    static_cast<int64_t>(v.size())})
    for (int64_t start : {int64_t{0}, int64_t{3}})
      if (start + n <= std::ssize(v))
        EXPECT_EQ(std::bit_cast<uint32_t>(cpu::amax_avx512(v.data() + start, n)),
                  std::bit_cast<uint32_t>(cpu::amax_scalar(v.data() + start, n)))
            << "n " << n << " from " << start;
}

TEST(RoundCodes, Nvfp4GroupsAvx512MatchesScalar) {
  if (host_platform().cpu.isa < CpuIsa::avx512)
    GTEST_SKIP() << "needs ISA level avx512; this CPU offers " << name(host_platform().cpu.isa);
  const std::vector<float> v = values(4);
  for (int64_t n :
       {int64_t{1}, int64_t{15}, int64_t{17}, int64_t{40}, static_cast<int64_t>(v.size())})
    for (float global : {1.f, 448.f * 6.f / 3.5f, 0.01f})
      EXPECT_EQ(run_nvfp4(cpu::round_nvfp4_groups_avx512, v, n, global),
                run_nvfp4(cpu::round_nvfp4_groups_scalar, v, n, global))
          << "n " << n << " global " << global;
}

}  // namespace
}  // namespace qlinear
