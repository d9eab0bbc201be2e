// round_codes' scalar twins: the references the vector paths are tested against, and the paths of
// the kernels below ISA level avx512.
#include <algorithm>
#include <cmath>

#include "cpu/convert.hpp"
#include "cpu/round_codes.hpp"

namespace qlinear::cpu {

void round_codes_scalar(const CodeRounding& a) {
  for (int64_t i = 0; i < a.n; ++i) {
    const float scaled = a.multiply ? a.v[i] * a.factor : a.v[i] / a.factor;
    a.q[i] = a.e2m1 ? round_to_e2m1(scaled) : round_to_e4m3(scaled);
  }
}

float amax_scalar(const float* v, int64_t n) {
  float amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(v[i]));
  return amax;
}

void round_nvfp4_groups_scalar(const Nvfp4Rounding& a) {
  for (int64_t k0 = 0; k0 < a.n; k0 += 16) {
    const int64_t k1 = std::min(a.n, k0 + 16);
    const float amax = amax_scalar(a.v + k0, k1 - k0);
    const float sf = round_to_e4m3(a.global * (amax / 6.f));
    const float multiplier = sf != 0 ? 1.f / (sf * (1.f / a.global)) : 0.f;
    for (int64_t i = k0; i < k1; ++i) a.q[i] = round_to_e2m1(a.v[i] * multiplier) * sf;
  }
}

}  // namespace qlinear::cpu
