// interleave_pairs (src/cpu/interleave_pairs.hpp): the scalar twin against the definition, and the
// AVX-512 path (where this CPU has it) against the scalar twin, on random bf16 bits, with every
// number of rows present (null rows written as zeros), K positions off the 32-position step (odd
// ones included), into poisoned output so that an element left unwritten shows.
#include "cpu/interleave_pairs.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "qlinear/platform.hpp"

namespace qlinear::cpu {
namespace {

constexpr uint16_t kPoison = 0xcdcd;

struct Case {
  std::vector<std::vector<uint16_t>> rows;
  PairRows args{};
  std::vector<uint16_t> out;
};

// `present` rows of `count` random elements, the others null; out poisoned.
Case make_case(int present, int64_t count, std::mt19937& rng) {
  Case c;
  c.rows.resize(8);
  for (int r = 0; r < 8; ++r) {
    if (r >= present) continue;
    c.rows[r].resize(static_cast<size_t>(count));
    for (auto& e : c.rows[r]) e = static_cast<uint16_t>(rng());
    c.args.rows[r] = c.rows[r].data();
  }
  c.args.count = count;
  c.out.assign(static_cast<size_t>(8 * (count + count % 2)), kPoison);
  c.args.out = c.out.data();
  return c;
}

TEST(InterleavePairs, ScalarTwinFollowsTheDefinition) {
  std::mt19937 rng(1);
  for (int present : {1, 5, 8})
    for (int64_t count : {2, 31, 64, 97}) {
      Case c = make_case(present, count, rng);
      interleave_pairs_scalar(c.args);
      for (int r = 0; r < 8; ++r)
        for (int64_t i = 0; i < count; ++i)
          ASSERT_EQ(c.out[(i / 2) * 16 + 2 * r + i % 2], r < present ? c.rows[r][i] : 0)
              << "row " << r << " position " << i << " of " << count;
    }
}

TEST(InterleavePairs, Avx512MatchesTheScalarTwin) {
  if (host_platform().cpu.isa < CpuIsa::avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(2);
  for (int present = 1; present <= 8; ++present)
    for (int64_t count : {2, 30, 32, 33, 64, 95, 128, 4096, 4098}) {
      Case vector = make_case(present, count, rng);
      Case scalar = vector;
      scalar.args.out = scalar.out.data();
      for (int r = 0; r < 8; ++r)
        scalar.args.rows[r] = r < present ? scalar.rows[r].data() : nullptr;
      interleave_pairs_avx512(vector.args);
      interleave_pairs_scalar(scalar.args);
      ASSERT_EQ(vector.out, scalar.out) << present << " rows, " << count << " positions";
    }
}

}  // namespace
}  // namespace qlinear::cpu
