// round_codes' scalar twin: the reference the vector path is tested against, and the path of the
// kernels below ISA level avx512.
#include "cpu/convert.hpp"
#include "cpu/round_codes.hpp"

namespace qlinear::cpu {

void round_codes_scalar(const CodeRounding& a) {
  for (int64_t i = 0; i < a.n; ++i) {
    const float scaled = a.multiply ? a.v[i] * a.factor : a.v[i] / a.factor;
    a.q[i] = a.e2m1 ? round_to_e2m1(scaled) : round_to_e4m3(scaled);
  }
}

}  // namespace qlinear::cpu
