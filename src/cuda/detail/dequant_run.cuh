// One thread's work in the dequantization of the dequant_gemm kernels
// (cuda/detail/dequant_gemm.cuh): a run of codes (16 bytes: 32 4-bit or 16 8-bit codes, consecutive
// along K in one row, see cuda/dequant_gemm_plan.hpp) becomes 32 or 16 weights of the activation
// type T, written with 16-byte stores:
//
//   ŵ[n, k] = (value(code) - zero point) · scale · factor, in fp32, rounded once to T
//
// where factor is 2^shift (times nvfp4's global scale). The format is a template argument (its
// code and scale decoders), and so is how the run finds its scale and zero point (RunGrouping):
// once per run or per half run, read before the codes are decoded, or per position (act order).
// Everything here is __host__ __device__: the tests run it on the host against the reference.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <vector_functions.h>
#include <vector_types.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda/dequant_gemm_plan.hpp"
#include "cuda/detail/scale_decoders.cuh"
#include "gpu/formats.cuh"

namespace qlinear::cuda::detail {

// What the dequantization reads and writes (device pointers; host pointers in the host tests).
struct DequantParams {
  const uint8_t* codes = nullptr;       // [n, code_row_bytes]
  const void* scales = nullptr;         // [n, groups] in the format's scale type
  const uint8_t* zeros = nullptr;       // [n, groups] zero-point codes, or null (zero_default)
  const int32_t* group_of_k = nullptr;  // per_position: [runs_per_row · run length]
  void* out = nullptr;                  // ŵ [n, runs_per_row · run length] of T
  int64_t code_row_bytes = 0;
  float factor = 1.f;
  uint32_t zero_default = 0;
  uint32_t code_xor = 0;
  int n = 0, runs_per_row = 0, groups = 0, runs_per_group = 1;
};

// The parameters of a layout (cuda/dequant_gemm_plan.hpp) whose tensors are at the given
// addresses (on the device, or the layout's own vectors in the host tests); `out` is per call.
inline DequantParams dequant_params(const DequantLayout& l, int64_t n, const void* codes,
                                    const void* scales, const void* zeros, const void* group_of_k) {
  DequantParams p;
  p.codes = static_cast<const uint8_t*>(codes);
  p.scales = scales;
  p.zeros = static_cast<const uint8_t*>(zeros);
  p.group_of_k = static_cast<const int32_t*>(group_of_k);
  p.code_row_bytes = l.code_row_bytes;
  p.factor = l.factor;
  p.zero_default = l.zero_default;
  p.code_xor = l.code_xor;
  p.n = static_cast<int>(n);
  p.runs_per_row = l.runs_per_row;
  p.groups = l.groups;
  p.runs_per_group = l.runs_per_group;
  return p;
}

// ---- the formats: codes of a run, and the scale of a group --------------------------------------
// value(w, i): code i of the run (w: its four words, little-endian), as fp32. The integer formats
// give 2^23 + u (integer_plus_2p23); their offset, 2^23 + zero point, is subtracted per group.

// The float formats from their two halves, the codes (kCodeBits, kOffsets, value) and the scales
// (scale(scales, i), cuda/detail/scale_decoders.cuh): float4_e2m1f or float8_e4m3fn codes decoded
// from their bits (e4m3's 0x7f / 0xff are NaN, as in the reference), scales as fp32 or one-byte
// e4m3 / e8m0 codes.
struct E2m1Values {
  static constexpr int kCodeBits = 4;
  static constexpr bool kOffsets = false;
  __host__ __device__ static float value(const uint32_t (&w)[4], int i) {
    return e2m1_decode(w[i / 8] >> (4 * (i % 8)) & 0xfu);
  }
};
struct E4m3Values {
  static constexpr int kCodeBits = 8;
  static constexpr bool kOffsets = false;
  __host__ __device__ static float value(const uint32_t (&w)[4], int i) {
    return e4m3_decode(w[i / 4] >> (8 * (i % 4)) & 0xffu);
  }
};
template <typename Values, typename Scales>
struct FloatCodes : Values, Scales {};

// mixed_precision: uint4b8, uint4 (zero points), uint8b128, uint8 (zero points), int8 (as
// code ^ 0x80, with 128); fp32 scales.
template <int kBits>
struct IntegerCodes : Fp32Scales {
  static constexpr int kCodeBits = kBits;
  static constexpr bool kOffsets = true;
  static constexpr uint32_t kMask = (1u << kBits) - 1;
  static constexpr int kPerWord = 32 / kBits;
  __host__ __device__ static float value(const uint32_t (&w)[4], int i) {
    return integer_plus_2p23(w[i / kPerWord] >> (kBits * (i % kPerWord)) & kMask);
  }
};
using Nvfp4Codes = FloatCodes<E2m1Values, E4m3Scales>;  // nvfp4_weight_only: e4m3 per 16
using Mxfp8Codes = FloatCodes<E4m3Values, E8m0Scales>;  // mxfp8_weight_only: e8m0 per 32
using Mxfp4Codes = FloatCodes<E2m1Values, E8m0Scales>;  // mxfp4_weight_only: e8m0 per 32
using Fp8Codes = FloatCodes<E4m3Values, Fp32Scales>;    // fp8_weight_only: per tensor / channel

// ---- index math
// -----------------------------------------------------------------------------------

template <typename F>
inline constexpr int kRun = run_length(F::kCodeBits);

// Byte offset of a run's codes, element offset of its first ŵ.
__host__ __device__ inline int64_t code_offset(const DequantParams& p, int row, int run) {
  return static_cast<int64_t>(row) * p.code_row_bytes + static_cast<int64_t>(run) * kRunBytes;
}
template <typename F>
__host__ __device__ int64_t out_offset(const DequantParams& p, int row, int run) {
  return (static_cast<int64_t>(row) * p.runs_per_row + run) * kRun<F>;
}

// The group of segment s of a run (one_group: the run; two_groups: its halves). Padding past K
// (a last run that is only partly in K) takes the last group: its codes are zero bytes, and the
// GEMM never reads those columns.
template <RunGrouping G>
__host__ __device__ int segment_group(const DequantParams& p, int run, int s) {
  static_assert(G != RunGrouping::per_position, "per_position runs read group_of_k");
  const int group =
      G == RunGrouping::two_groups
          ? 2 * run + s
          : static_cast<int>(static_cast<unsigned>(run) / static_cast<unsigned>(p.runs_per_group));
  return group < p.groups ? group : p.groups - 1;
}

// ---- one run ------------------------------------------------------------------------------------

// Scale (times factor) and offset of one group, at index i of the scale grid.
struct Segment {
  float scale, offset;
};
template <typename F>
__host__ __device__ Segment segment(const DequantParams& p, int64_t i) {
  float offset = 0.f;
  if constexpr (F::kOffsets) offset = integer_plus_2p23(p.zeros ? p.zeros[i] : p.zero_default);
  return {F::scale(p.scales, i) * p.factor, offset};
}
template <typename F>
__host__ __device__ float dequantize(float value, Segment s) {
  if constexpr (F::kOffsets) value -= s.offset;  // exact: u - z
  return value * s.scale;
}

// 16 bytes from / to memory: one vector instruction on the device (ld.global.nc.v4 for the
// read-only inputs, st.global.v4).
template <typename V>
__host__ __device__ V load16(const void* p) {
#ifdef __CUDA_ARCH__
  return __ldg(static_cast<const V*>(p));
#else
  V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
#endif
}
__host__ __device__ inline void store16(void* p, uint4 v) {
#ifdef __CUDA_ARCH__
  *static_cast<uint4*>(p) = v;
#else
  std::memcpy(p, &v, sizeof(v));
#endif
}

// Two fp32 rounded to a pair of T (cvt.rn.bf16x2.f32 / cvt.rn.f16x2.f32), as its bits.
template <typename T>
__host__ __device__ uint32_t round_pair(float lo, float hi) {
  static_assert(std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>);
  uint32_t bits;
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    const __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);
    std::memcpy(&bits, &pair, sizeof(bits));
  } else {
    const __half2 pair = __floats2half2_rn(lo, hi);
    std::memcpy(&bits, &pair, sizeof(bits));
  }
  return bits;
}

// Dequantizes run `run` of row `row`: one 16-byte load of codes, the group's scale and zero point
// once per run (one_group) or half run (two_groups) or per position (group_of_k, 16-byte loads of
// four groups), kRun / 8 16-byte stores.
template <typename F, typename T, RunGrouping G>
__host__ __device__ void dequantize_run(const DequantParams& p, int row, int run) {
  constexpr int kN = kRun<F>;
  const uint4 raw = load16<uint4>(p.codes + code_offset(p, row, run));
  const uint32_t w[4] = {raw.x ^ p.code_xor, raw.y ^ p.code_xor, raw.z ^ p.code_xor,
                         raw.w ^ p.code_xor};
  const int64_t scale_row = static_cast<int64_t>(row) * p.groups;
  float v[kN];
  if constexpr (G == RunGrouping::per_position) {
    const int32_t* group = p.group_of_k + static_cast<int64_t>(run) * kN;
#pragma unroll
    for (int q = 0; q < kN / 4; ++q) {
      const int4 g = load16<int4>(group + 4 * q);
      const int gs[4] = {g.x, g.y, g.z, g.w};
#pragma unroll
      for (int j = 0; j < 4; ++j)
        v[4 * q + j] = dequantize<F>(F::value(w, 4 * q + j), segment<F>(p, scale_row + gs[j]));
    }
  } else {
    constexpr int kSegments = G == RunGrouping::two_groups ? 2 : 1;
#pragma unroll
    for (int s = 0; s < kSegments; ++s) {
      const Segment seg = segment<F>(p, scale_row + segment_group<G>(p, run, s));
#pragma unroll
      for (int j = 0; j < kN / kSegments; ++j) {
        const int i = s * (kN / kSegments) + j;
        v[i] = dequantize<F>(F::value(w, i), seg);
      }
    }
  }
  T* out = static_cast<T*>(p.out) + out_offset<F>(p, row, run);
#pragma unroll
  for (int q = 0; q < kN / 8; ++q)
    store16(out + 8 * q, make_uint4(round_pair<T>(v[8 * q], v[8 * q + 1]),
                                    round_pair<T>(v[8 * q + 2], v[8 * q + 3]),
                                    round_pair<T>(v[8 * q + 4], v[8 * q + 5]),
                                    round_pair<T>(v[8 * q + 6], v[8 * q + 7])));
}

}  // namespace qlinear::cuda::detail
