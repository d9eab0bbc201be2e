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

// NVFP4's activations whole, a group of 16 at a time, as reference::quantize_activations computes
// them: the group's e4m3 scale sf = round_to_e4m3(global · (amax / 6)) over its |v| (NaN left
// out), the codes round_to_e2m1(v · (1 / (sf · (1 / global)))) (multiplier 0 where sf is 0), and
// q = code · sf, exact (at most 6 significant bits). The scale and the codes were a call of
// round_codes and two scalar loops per group of 16 (NOTES: 6.8 % of a W4A4 call at 64 tokens).
struct Nvfp4Rounding {
  const float* v;
  float* q;
  int64_t n;
  float global;  // 1 / the tensor's input scale
};
void round_nvfp4_groups_scalar(const Nvfp4Rounding& a);

// max |v[i]| over [0, n), NaN left out (std::max's order: an amax is kept over a NaN); 0 for n = 0.
// The amax of a row (per-token scales) or group (per-group scales) before round_codes.
float amax_scalar(const float* v, int64_t n);
float amax_avx512(const float* v, int64_t n);
// One group a vector, the same operations in fp32 lanes (the scale's rounding in one lane).
void round_nvfp4_groups_avx512(const Nvfp4Rounding& a);

}  // namespace qlinear::cpu
