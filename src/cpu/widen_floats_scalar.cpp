// widen_floats' scalar twin: the reference the vector paths are tested against, and the path of
// CPUs without AVX2 and F16C.
#include "cpu/convert.hpp"
#include "cpu/widen_floats.hpp"

namespace qlinear::cpu {

void widen_floats_scalar(const FloatWidening& a) {
  for (int64_t i = 0; i < a.count; ++i)
    a.out[i] = a.bf16 ? bf16_to_float(a.src[i]) : fp16_to_float(a.src[i]);
}

}  // namespace qlinear::cpu
