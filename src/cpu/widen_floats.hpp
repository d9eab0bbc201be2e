// bf16 / fp16 values widened to fp32, exactly (every bf16 and fp16 value is an fp32 value): the
// dequant kernels' weight scales at load (mixed_precision.cpp), 6.8 M fp16 scales for llama3-8b's
// 32 layers at group 128. One at a time (fp16 then through the compiler's _Float16, a libgcc call
// where the file is built without F16C) they cost ~7 ns each, a fifth of preparing a GPTQ layer.
//
//   out[i] = value of src[i] as fp32   (i < count)
//
// bf16 is its bits shifted up 16; fp16 as F16C's vcvtph2ps converts it: subnormals normalized,
// ±inf kept, a NaN quiet with its payload in the top mantissa bits (core/half_floats.hpp's
// fp16_to_float does the same on the bits, and is the twin).
#pragma once

#include <cstdint>

namespace qlinear::cpu {

struct FloatWidening {
  const uint16_t* src;
  int64_t count;
  bool bf16;  // else fp16
  float* out;
};

// The reference: convert.hpp one element at a time. Runs on any x86-64.
void widen_floats_scalar(const FloatWidening& a);
// 8 elements a step (F16C's vcvtph2ps, or a widening shift for bf16); the last few through the
// scalar twin. Needs AVX2 and F16C (ISA level avx2).
void widen_floats_avx2(const FloatWidening& a);
// 16 elements a step, the last few masked. Needs AVX-512 F/BW.
void widen_floats_avx512(const FloatWidening& a);

}  // namespace qlinear::cpu
