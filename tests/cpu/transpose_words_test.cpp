// transpose_words (src/cpu/transpose_words.hpp): the scalar twin against the definition, and every
// vector path this CPU runs against the scalar twin, on random words with shapes off the 16 x 16
// tile grid and strides wider than the block, into poisoned output (0xcdcdcdcd) so that a word
// left unwritten, or one written outside the block, shows.
#include "cpu/transpose_words.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "qlinear/platform.hpp"

namespace qlinear {
namespace {

struct Shape {
  int64_t rows, cols, in_stride, out_stride;
};

std::vector<Shape> shapes() {
  std::vector<Shape> list;
  for (int64_t rows : {1, 15, 16, 17, 40})
    for (int64_t cols : {1, 16, 31, 64, 67})
      for (int64_t pad : {0, 3}) list.push_back({rows, cols, cols + pad, rows + 2 * pad});
  return list;
}

std::vector<uint32_t> run(void (*transpose)(const cpu::WordBlock&), const Shape& s,
                          const std::vector<uint32_t>& in) {
  std::vector<uint32_t> out(static_cast<size_t>(s.cols * s.out_stride), 0xcdcdcdcdu);
  transpose({in.data(), s.in_stride, s.rows, s.cols, out.data(), s.out_stride});
  return out;
}

std::vector<uint32_t> random_words(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> in(static_cast<size_t>(s.rows * s.in_stride));
  for (auto& w : in) w = rng();
  return in;
}

std::string describe(const Shape& s) {
  return std::to_string(s.rows) + " x " + std::to_string(s.cols) + ", strides " +
         std::to_string(s.in_stride) + " / " + std::to_string(s.out_stride);
}

TEST(TransposeWords, ScalarFollowsTheDefinition) {
  for (const Shape& s : shapes()) {
    const auto in = random_words(s, 1);
    const auto out = run(cpu::transpose_words_scalar, s, in);
    for (int64_t c = 0; c < s.cols; ++c)
      for (int64_t r = 0; r < s.out_stride; ++r) {
        const uint32_t want = r < s.rows ? in[r * s.in_stride + c] : 0xcdcdcdcdu;
        ASSERT_EQ(out[c * s.out_stride + r], want) << describe(s) << ": (" << r << ", " << c << ")";
      }
  }
}

TEST(TransposeWords, Avx512MatchesScalar) {
  if (host_platform().cpu.isa < CpuIsa::avx512)
    GTEST_SKIP() << "needs ISA level avx512; this CPU offers " << name(host_platform().cpu.isa);
  for (const Shape& s : shapes()) {
    const auto in = random_words(s, 2);
    EXPECT_EQ(run(cpu::transpose_words_avx512, s, in), run(cpu::transpose_words_scalar, s, in))
        << describe(s);
  }
}

}  // namespace
}  // namespace qlinear
