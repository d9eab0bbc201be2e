// The elementwise step of the float-quantizing families' activation quantization
// (mixed_precision.cpp: fp8_scaled_mm, fp8_block, nvfp4, mxfp8, mxfp4): the code value nearest to
// each scaled activation, as reference::quantize_activations rounds it:
//
//   q[i] = round_to_e4m3(v[i] / factor)   or round_to_e2m1(…)   (divide: every family but NVFP4)
//   q[i] = round_to_e4m3(v[i] · factor)   or round_to_e2m1(…)   (multiply: NVFP4)
//
// round_to_e4m3 / round_to_e2m1 are convert.hpp's: nearest, ties to even, saturated at ±max, NaN
// kept. The scales and amax stay with the caller (one per row or group); this is the per-element
// work, most of a quantizing call's preparation of x at M >= 64.
#pragma once

#include <cstdint>

namespace qlinear::cpu {

struct CodeRounding {
  const float* v;
  float* q;
  int64_t n;
  float factor;
  bool multiply;  // v · factor; else v / factor
  bool e2m1;      // float4_e2m1f codes; else float8_e4m3fn
};

// The reference: one element at a time through convert.hpp. Runs on any x86-64.
void round_codes_scalar(const CodeRounding& a);
// 16 elements a step, round_saturate's bit steps in fp32 lanes (the same operations, so the same
// bits). Needs AVX-512 F.
void round_codes_avx512(const CodeRounding& a);

}  // namespace qlinear::cpu
