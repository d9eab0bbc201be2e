// interleave_pairs' scalar twin: the reference of the vector path and its last positions.
#include "cpu/interleave_pairs.hpp"

namespace qlinear::cpu {

void interleave_pairs_scalar(const PairRows& a) {
  for (int r = 0; r < 8; ++r)
    for (int64_t i = 0; i < a.count; ++i)
      a.out[(i / 2) * 16 + 2 * r + i % 2] = a.rows[r] ? a.rows[r][i] : uint16_t{0};
}

}  // namespace qlinear::cpu
