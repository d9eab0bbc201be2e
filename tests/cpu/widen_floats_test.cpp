// widen_floats (src/cpu/widen_floats.hpp): the scalar twin against the exact decoder on all 65536
// fp16 and bf16 values, and every vector path this CPU runs against the scalar twin bit for bit on
// the same values (subnormals, ±0, ±inf, quiet and signalling NaNs with every payload), with
// counts off the vector grids and the elements past the count left alone.
#include "cpu/widen_floats.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <vector>

#include "qlinear/platform.hpp"
#include "qlinear/scalar_type.hpp"

namespace qlinear {
namespace {

using WidenFn = void (*)(const cpu::FloatWidening&);

std::vector<uint16_t> every_value() {
  std::vector<uint16_t> bits(65536);
  for (uint32_t b = 0; b < 65536; ++b) bits[b] = static_cast<uint16_t>(b);
  return bits;
}

// The fp32 bits widen writes for src[0, count), then the guard past it.
std::vector<uint32_t> run(WidenFn widen, const std::vector<uint16_t>& src, int64_t count,
                          bool bf16) {
  std::vector<float> out(static_cast<size_t>(count) + 17, 12345.f);
  widen({src.data(), count, bf16, out.data()});
  std::vector<uint32_t> bits;
  for (float x : out) bits.push_back(std::bit_cast<uint32_t>(x));
  return bits;
}

TEST(WidenFloats, ScalarIsTheExactDecoder) {
  const std::vector<uint16_t> src = every_value();
  for (bool bf16 : {false, true}) {
    const ScalarType type = bf16 ? ScalarType::bf16 : ScalarType::fp16;
    std::vector<float> out(src.size());
    cpu::widen_floats_scalar({src.data(), static_cast<int64_t>(src.size()), bf16, out.data()});
    for (uint32_t b = 0; b < 65536; ++b) {
      const double want = decode(type, b);
      if (std::isnan(want))
        EXPECT_TRUE(std::isnan(out[b])) << name(type) << " bits " << b;
      else
        ASSERT_EQ(static_cast<double>(out[b]), want) << name(type) << " bits " << b;
      if (want == 0) EXPECT_EQ(std::signbit(out[b]), (b & 0x8000) != 0) << b;
    }
  }
}

void expect_matches_scalar(CpuIsa level, WidenFn widen) {
  if (host_platform().cpu.isa < level)
    GTEST_SKIP() << "needs ISA level " << name(level) << "; this CPU offers "
                 << name(host_platform().cpu.isa);
  const std::vector<uint16_t> src = every_value();
  for (int64_t count : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{8}, int64_t{9}, int64_t{15},
                        int64_t{17}, int64_t{65535}, int64_t{65536}})
    for (bool bf16 : {false, true})
      EXPECT_EQ(run(widen, src, count, bf16), run(cpu::widen_floats_scalar, src, count, bf16))
          << "count " << count << (bf16 ? " bf16" : " fp16");
}

TEST(WidenFloats, Avx2MatchesScalar) {
  expect_matches_scalar(CpuIsa::avx2, cpu::widen_floats_avx2);
}

TEST(WidenFloats, Avx512MatchesScalar) {
  expect_matches_scalar(CpuIsa::avx512, cpu::widen_floats_avx512);
}

}  // namespace
}  // namespace qlinear
