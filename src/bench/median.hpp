// The median the bench reports (the mean of the two middle values for an even count; 0 when
// empty), shared by the kernel runs (bench.cpp) and the tensor-parallel runs (parallel_bench.cpp).
#pragma once

#include <algorithm>
#include <vector>

namespace qlinear::bench {

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

}  // namespace qlinear::bench
