// Activation quantization kernels (see act_quant.hpp). A segment (the elements sharing one scale)
// is covered by T threads, T a power of two; each thread loads its 8-element chunks once into
// registers (16-byte loads where K, the group and the pitches allow), the T threads combine their
// statistics (warp shuffles, and shared memory across warps when T > 32), and the codes are made
// from the registers: one read of x, one write of the codes. Two shapes of work:
//   short segments (<= kShortChunks chunks: the 1x16 and 1x32 groups): one chunk per thread and
//     kBatch segments per thread, so that every thread has several loads in flight;
//   long segments (the 1x128 groups, per-token rows): up to 256 threads per segment,
//     kRegisterChunks chunks each (all loads issued before the first use); chunks beyond that
//     (rows longer than 8192 elements) are read a second time.
//
//   row r:  | segment (r,0): threads 0..T-1 | segment (r,1) | ...                  K ->
//           chunk j of thread t starts at k0 + 8·(t + T·j)
//
// Every arithmetic step gives the reference's result (fp32, round-to-nearest-even, the same operand
// order; the per-element division by a reciprocal and an FMA correction that equals IEEE division,
// see divide()), so codes and scales match it bit for bit; min / max are order-independent.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>

#include "gpu/act_quant.hpp"
#include "gpu/check.hpp"
#include "gpu/dependent_launch.cuh"
#include "gpu/formats.cuh"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cuda {
namespace {

using detail::e2m1_code;
using detail::e2m1_value;
using detail::e4m3_code;
using detail::e4m3_value;

enum class Mode : int {
  passthrough,      // x as bf16 (weight-only emulation)
  int8_symmetric,   // s = amax / 127
  int8_asymmetric,  // s = (max - min) / 255, z = rne(-128 - min / s)
  int8_static,      // s = input_scale, z = input_zero_point or 0
  fp8_dynamic,      // s = amax / 448
  fp8_static,       // s = input_scale
  nvfp4,            // e4m3 scale per 16 under the global 1 / input_scale
  mxfp8,            // e8m0 scale per 32, e4m3 codes
  mxfp4,            // e8m0 scale per 32, e2m1 codes (two a byte)
};
enum class ScaleKind : int { fp32, e4m3, e8m0 };

struct Params {
  const void* x;
  int64_t rows, k;
  int64_t group, groups;  // K extent of a segment; segments per row
  Mode mode;
  bool per_tensor;
  const float* input_scale;
  const int32_t* input_zero_point;
  const unsigned* tensor_stats;  // dynamic per-tensor: order keys of max|x|, max x, min x
  void* codes;
  int64_t codes_ld;
  void* scales;
  int64_t scale_row_stride, scale_group_stride;
  ScaleKind scale_kind;
  int32_t* zero_points;
  int64_t zero_point_row_stride;
  bool dequantized;
  int32_t* cleared;
  int64_t cleared_count;
  bool vector_io;  // 16-byte loads and 8-byte stores: K, the segment and the pitches are multiples
                   // of 8
};

constexpr int kChunk = 8;
constexpr int kThreads = 256;
// Chunks a thread of a long segment holds in registers (64 bytes of bf16 x). 8 chunks (fewer
// threads a row, the per-segment work spread over more elements) measured slower: 93 registers,
// 2 blocks an SM; fp8 per-token on [8192, 8192] bf16 went from 75% to 67% of the copy bandwidth.
constexpr int kRegisterChunks = 4;

__device__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ float to_float(__half v) { return __half2float(v); }
__device__ float to_float(float v) { return v; }

// Elements [c, c + 8) of a row that ends at `end` (c < end). Past the end, the chunk repeats
// element c, which leaves amax / min / max unchanged; those elements are never stored.
template <typename T>
struct Chunk {
  alignas(16) T raw[kChunk];
  __device__ void load(const T* row, int64_t c, int64_t end, bool vector_io) {
    if (vector_io && c + kChunk <= end) {
      const auto* source = reinterpret_cast<const uint4*>(row + c);
      auto* target = reinterpret_cast<uint4*>(raw);
#pragma unroll
      for (int i = 0; i < static_cast<int>(kChunk * sizeof(T) / 16); ++i) target[i] = source[i];
    } else {
#pragma unroll
      for (int i = 0; i < kChunk; ++i) raw[i] = row[c + i < end ? c + i : c];
    }
  }
  __device__ float operator[](int i) const { return to_float(raw[i]); }
};

// Order-preserving map of floats onto unsigned integers, for atomicMax / atomicMin.
__device__ unsigned order_key(float f) {
  const unsigned b = __float_as_uint(f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ float from_order_key(unsigned key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

struct Stats {
  float amax = 0.f, lo = INFINITY, hi = -INFINITY;
  __device__ void add(float v) {
    amax = fmaxf(amax, fabsf(v));
    lo = fminf(lo, v);
    hi = fmaxf(hi, v);
  }
  // A chunk; min and max only where the scheme needs them (asymmetric int8).
  template <typename T>
  __device__ void add(const Chunk<T>& chunk, bool range) {
    if (range) {
#pragma unroll
      for (int i = 0; i < kChunk; ++i) add(chunk[i]);
    } else {
#pragma unroll
      for (int i = 0; i < kChunk; ++i) amax = fmaxf(amax, fabsf(chunk[i]));
    }
  }
  // Combines the statistics of the segment's T threads (T a power of two; every thread of the
  // block takes part, as the block-wide step needs a barrier); min and max only with `range`.
  __device__ void reduce(int threads, bool range) {
    for (int offset = min(threads, 32) / 2; offset > 0; offset /= 2) {
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, offset));
      if (range) {
        lo = fminf(lo, __shfl_xor_sync(0xffffffffu, lo, offset));
        hi = fmaxf(hi, __shfl_xor_sync(0xffffffffu, hi, offset));
      }
    }
    if (threads <= 32) return;
    __shared__ float warp_stats[3][kThreads / 32];
    const int warp = static_cast<int>(threadIdx.x) / 32;
    if (threadIdx.x % 32 == 0)
      warp_stats[0][warp] = amax, warp_stats[1][warp] = lo, warp_stats[2][warp] = hi;
    __syncthreads();
    const int first = warp / (threads / 32) * (threads / 32);
    for (int w = first; w < first + threads / 32; ++w) {
      amax = fmaxf(amax, warp_stats[0][w]);
      lo = fminf(lo, warp_stats[1][w]);
      hi = fmaxf(hi, warp_stats[2][w]);
    }
  }
};

// A segment's scale, as the reference computes it.
struct SegmentScale {
  float scale = 1.f;       // q = x / scale (or x · multiplier for nvfp4)
  float reciprocal = 1.f;  // RN(1 / scale), for divide()
  float zero = 0.f;
  float multiplier = 0.f;
  float dequant = 1.f;  // x̂ = (q - zero) · dequant
  uint32_t code = 0;    // what is stored: fp32 bits, the e4m3 code or the e8m0 code
};

// The statistics a dynamic scale is made from: the segment's, or the tensor's (tensor_stats).
__device__ Stats scale_statistics(const Params& p, Stats s) {
  if (p.per_tensor && p.tensor_stats != nullptr) {
    s.amax = from_order_key(p.tensor_stats[0]);
    s.hi = from_order_key(p.tensor_stats[1]);
    s.lo = from_order_key(p.tensor_stats[2]);
  }
  return s;
}

// For a mode known at compile time (the scale is made once per segment, 8 elements apart for the
// short ones: a run-time switch there costs as much as the codes).
template <Mode kMode>
__device__ SegmentScale segment_scale(const Params& p, const Stats& segment) {
  const Stats s = scale_statistics(p, segment);
  SegmentScale r;
  if constexpr (kMode == Mode::nvfp4) {
    const float global = 1.f / *p.input_scale;
    r.code = e4m3_code(global * (s.amax / 6.f));
    const float sf = e4m3_value(r.code);
    r.multiplier = sf != 0 ? 1.f / (sf * (1.f / global)) : 0.f;
    r.dequant = sf * *p.input_scale;
    return r;
  } else if constexpr (kMode == Mode::mxfp8 || kMode == Mode::mxfp4) {
    // OCP MX: the block's largest exponent less the element type's (e4m3 8, e2m1 2).
    constexpr int kEmax = kMode == Mode::mxfp8 ? 8 : 2;
    const int e = s.amax > 0 ? max(-127, min(127, ilogbf(s.amax) - kEmax)) : -127;
    r.code = static_cast<uint32_t>(e + 127);
    r.scale = ldexpf(1.f, e);
    r.reciprocal = ldexpf(1.f, -e);
    r.dequant = r.scale;
    return r;
  } else {
    if constexpr (kMode == Mode::int8_symmetric) {
      r.scale = s.amax > 0 ? s.amax / 127.f : 1.f;
    } else if constexpr (kMode == Mode::int8_asymmetric) {
      r.scale = (s.hi - s.lo) / 255.f;
      if (r.scale == 0) r.scale = 1.f;
      r.zero = rintf(-128.f - s.lo / r.scale);
    } else if constexpr (kMode == Mode::int8_static || kMode == Mode::fp8_static) {
      r.scale = *p.input_scale;
      if (p.input_zero_point != nullptr) r.zero = static_cast<float>(*p.input_zero_point);
    } else if constexpr (kMode == Mode::fp8_dynamic) {
      r.scale = s.amax > 0 ? s.amax / 448.f : 1.f;
    }
    r.code = __float_as_uint(r.scale);
    r.dequant = r.scale;
    r.reciprocal = 1.f / r.scale;
    return r;
  }
}

// x / scale rounded to nearest even, bit for bit what IEEE division gives, without a division per
// element (whose reciprocal would run on the quarter-rate MUFU pipe): y = RN(x·r) with r = RN(1/s)
// is within an ulp of x/s, the FMA residual x - y·s is then exact, and RN(y + r·residual) is the
// correctly rounded quotient (Markstein's theorem), while x/s is a normal float. Outside that
// range y is returned: a zero keeps x's sign as the division does, a quotient below 2^-126 rounds
// to a zero code in every format here either way, and an infinite y is the overflowing quotient.
__device__ float divide(float x, const SegmentScale& s) {
  const float y = __fmul_rn(x, s.reciprocal);
  const float q = __fmaf_rn(s.reciprocal, __fmaf_rn(-y, s.scale, x), y);
  // Normal |y|, [2^-126, inf), without branches: its bits minus those of 2^-126 stay below the gap.
  const bool normal = __float_as_uint(fabsf(y)) - 0x00800000u < 0x7f000000u;
  return normal ? q : y;
}

// x / scale as the reference rounds it. The MX scale is a power of two and so is its reciprocal
// (2^-e, exact in fp32 for every e8m0 exponent e in [-127, 127], 2^-127 as a subnormal): one
// multiply rounds the same real quotient once, as the division does.
template <Mode kMode>
__device__ float quotient(float x, const SegmentScale& s) {
  if constexpr (kMode == Mode::mxfp8 || kMode == Mode::mxfp4)
    return __fmul_rn(x, s.reciprocal);
  else
    return divide(x, s);
}

// rne(a) for |a| <= 2^22 by adding and removing 1.5·2^23 (the sum's last mantissa bit is the
// units digit): two adds instead of the quarter-rate FRND. Larger |a| are clamped first, which
// leaves every int8 result unchanged (it saturates either way for zero points below 2^21).
constexpr float kRoundMagic = 12582912.f;
__device__ float round_to_integer(float a) {
  a = fminf(fmaxf(a, -4194304.f), 4194304.f);
  return __fsub_rn(__fadd_rn(a, kRoundMagic), kRoundMagic);
}

// One element's code, for a mode known at compile time.
template <Mode kMode>
__device__ uint32_t encode(float v, const SegmentScale& s) {
  if constexpr (kMode == Mode::passthrough) {
    return 0;
  } else if constexpr (kMode == Mode::nvfp4) {
    return e2m1_code(v * s.multiplier);
  } else if constexpr (kMode == Mode::mxfp4) {
    return e2m1_code(quotient<kMode>(v, s));
  } else if constexpr (kMode == Mode::int8_symmetric) {
    // Without a zero point, clamping before rounding gives the same integer (the bounds are
    // integers; NaN goes to -128 as before) and the clamped value needs no guard for the rounding
    // trick: 3 instructions an element fewer than below.
    const float q = fminf(fmaxf(divide(v, s), -128.f), 127.f);
    return __float_as_uint(__fadd_rn(q, kRoundMagic)) & 0xffu;
  } else if constexpr (kMode == Mode::int8_asymmetric || kMode == Mode::int8_static) {
    const float q = fminf(fmaxf(round_to_integer(divide(v, s)) + s.zero, -128.f), 127.f);
    // q is an integer in [-128, 127]: the low byte of q + 1.5·2^23's bits is its two's complement.
    return __float_as_uint(__fadd_rn(q, kRoundMagic)) & 0xffu;
  } else {  // fp8 and mxfp8: e4m3 with saturation
    return e4m3_code(quotient<kMode>(v, s));
  }
}

// x̂ of an element from its code: (q - zero) · dequant (x itself for passthrough).
template <Mode kMode>
__device__ float decode(uint32_t code, float v, const SegmentScale& s) {
  if constexpr (kMode == Mode::passthrough) {
    return v;
  } else if constexpr (kMode == Mode::nvfp4 || kMode == Mode::mxfp4) {
    return e2m1_value(code) * s.dequant;
  } else if constexpr (kMode == Mode::int8_symmetric || kMode == Mode::int8_asymmetric ||
                       kMode == Mode::int8_static) {
    return (static_cast<float>(static_cast<int8_t>(code)) - s.zero) * s.dequant;
  } else {
    return e4m3_value(code) * s.dequant;
  }
}

__device__ void store_scale(const Params& p, int64_t row, int64_t group, const SegmentScale& s) {
  if (p.scales == nullptr) return;  // passthrough
  const int64_t at = row * p.scale_row_stride + group * p.scale_group_stride;
  if (p.scale_kind == ScaleKind::fp32)
    static_cast<float*>(p.scales)[at] = __uint_as_float(s.code);
  else
    static_cast<uint8_t*>(p.scales)[at] = static_cast<uint8_t>(s.code);
  if (p.zero_points != nullptr)
    p.zero_points[row * p.zero_point_row_stride] = static_cast<int32_t>(s.zero);
}

// The codes of a chunk; e4m3 two at a time (one paired conversion instruction).
template <Mode kMode, typename T>
__device__ void encode_chunk(const Chunk<T>& chunk, const SegmentScale& s,
                             uint32_t (&codes)[kChunk]) {
  if constexpr (kMode == Mode::fp8_dynamic || kMode == Mode::fp8_static || kMode == Mode::mxfp8) {
#pragma unroll
    for (int i = 0; i < kChunk; i += 2) {
      const uint32_t pair = __nv_cvt_float2_to_fp8x2(
          make_float2(quotient<kMode>(chunk[i], s), quotient<kMode>(chunk[i + 1], s)),
          __NV_SATFINITE, __NV_E4M3);
      codes[i] = pair & 0xffu;  // .x in the low byte
      codes[i + 1] = pair >> 8;
    }
  } else {
#pragma unroll
    for (int i = 0; i < kChunk; ++i) codes[i] = encode<kMode>(chunk[i], s);
  }
}

// Codes (or x̂) of elements [c, min(c + 8, end)) of a row.
template <Mode kMode, typename T>
__device__ void store_chunk(const Params& p, const SegmentScale& s, int64_t row, int64_t c,
                            int64_t end, const Chunk<T>& chunk) {
  uint32_t codes[kChunk];
  encode_chunk<kMode>(chunk, s, codes);
  const int64_t at = row * p.codes_ld + c;
  const bool whole = p.vector_io && c + kChunk <= end;
  if (p.dequantized) {
    auto* out = static_cast<__nv_bfloat16*>(p.codes) + at;
    alignas(16) __nv_bfloat16 buffer[kChunk];
#pragma unroll
    for (int i = 0; i < kChunk; ++i)
      buffer[i] = __float2bfloat16_rn(decode<kMode>(codes[i], chunk[i], s));
    if (whole) {
      *reinterpret_cast<uint4*>(out) = *reinterpret_cast<const uint4*>(buffer);
    } else {
#pragma unroll
      for (int i = 0; i < kChunk; ++i)
        if (c + i < end) out[i] = buffer[i];
    }
  } else if constexpr (kMode == Mode::nvfp4 || kMode == Mode::mxfp4) {
    // e2m1: two codes a byte, the lower k in the low nibble; c and end are even.
    auto* out = static_cast<uint8_t*>(p.codes) + at / 2;
    uint32_t packed = 0;
#pragma unroll
    for (int i = 0; i < kChunk; ++i) packed |= (codes[i] & 0xfu) << (4 * i);
    if (whole) {
      *reinterpret_cast<uint32_t*>(out) = packed;
    } else {
#pragma unroll
      for (int i = 0; i < kChunk; i += 2)
        if (c + i < end) out[i / 2] = static_cast<uint8_t>(packed >> (4 * i));
    }
  } else {
    auto* out = static_cast<uint8_t*>(p.codes) + at;
    if (whole) {
      uint2 packed{0, 0};
#pragma unroll
      for (int i = 0; i < 4; ++i) packed.x |= (codes[i] & 0xffu) << (8 * i);
#pragma unroll
      for (int i = 0; i < 4; ++i) packed.y |= (codes[4 + i] & 0xffu) << (8 * i);
      *reinterpret_cast<uint2*>(out) = packed;
    } else {
#pragma unroll
      for (int i = 0; i < kChunk; ++i)
        if (c + i < end) out[i] = static_cast<uint8_t>(codes[i]);
    }
  }
}

// Phase 2 of a thread for a mode known at compile time: the segment's scale (stored by the first
// thread of the segment), then the codes of the thread's chunks.
template <Mode kMode, typename T>
__device__ void quantize_chunks(const Params& p, const Stats& stats, int64_t segment, int t,
                                int64_t row, int64_t group, int64_t first, int64_t stride,
                                int64_t end, const T* x,
                                const Chunk<T> (&chunks)[kRegisterChunks]) {
  const SegmentScale s = segment_scale<kMode>(p, stats);
  if (t == 0 && (!p.per_tensor || p.scale_row_stride != 0 || segment == 0))
    store_scale(p, row, group, s);
#pragma unroll
  for (int j = 0; j < kRegisterChunks; ++j) {
    const int64_t c = first + j * stride;
    if (c < end) store_chunk<kMode>(p, s, row, c, end, chunks[j]);
  }
  for (int64_t c = first + kRegisterChunks * stride; c < end; c += stride) {
    Chunk<T> extra;
    extra.load(x, c, end, p.vector_io);
    store_chunk<kMode>(p, s, row, c, end, extra);
  }
}

// log2 of a power of two: the thread counts are powers of two, and the division by a run-time
// divisor would cost ~20 instructions.
__device__ __forceinline__ int log2_of(int power_of_two) { return __ffs(power_of_two) - 1; }

// ActQuantTarget::cleared, spread over the grid.
__device__ __forceinline__ void clear_words(const Params& p) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.cleared_count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    p.cleared[i] = 0;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) quantize_segments(Params p, int threads) {
  // The GEMM launched next (gpu/dependent_launch.cuh) may start now: it streams its weights and
  // waits for this grid before it reads the codes.
  allow_dependent_launch();
  clear_words(p);
  const int64_t segment =
      static_cast<int64_t>(blockIdx.x) * (kThreads / threads) + (threadIdx.x >> log2_of(threads));
  const int t = static_cast<int>(threadIdx.x) & (threads - 1);
  const bool active = segment < p.rows * p.groups;
  // Per-token rows (one segment a row) skip the 64-bit division.
  const int64_t row = !active ? 0 : p.groups == 1 ? segment : segment / p.groups;
  const int64_t group = active ? segment - row * p.groups : 0;
  const int64_t k0 = group * p.group, k1 = active ? min(p.k, k0 + p.group) : 0;
  const T* x = static_cast<const T*>(p.x) + row * p.k;
  const int64_t stride = static_cast<int64_t>(threads) * kChunk;
  const int64_t first = k0 + static_cast<int64_t>(t) * kChunk;

  // Phase 1: load the chunks (registers, then any beyond them) and take the statistics. Every
  // load is issued before the first is used: a load followed by its use in the same branch would
  // leave one 16-byte load in flight per thread, about half the bandwidth.
  Chunk<T> chunks[kRegisterChunks];
  Stats stats;
#pragma unroll
  for (int j = 0; j < kRegisterChunks; ++j) {
    const int64_t c = first + j * stride;
    if (c < k1) chunks[j].load(x, c, k1, p.vector_io);
  }
#pragma unroll
  for (int j = 0; j < kRegisterChunks; ++j)
    if (first + j * stride < k1) stats.add(chunks[j], p.mode == Mode::int8_asymmetric);
  for (int64_t c = first + kRegisterChunks * stride; c < k1; c += stride) {
    Chunk<T> extra;
    extra.load(x, c, k1, p.vector_io);
    stats.add(extra, p.mode == Mode::int8_asymmetric);
  }
  if (p.per_tensor) stats = Stats();  // the tensor-wide statistics come from tensor_stats
  stats.reduce(threads, p.mode == Mode::int8_asymmetric);
  if (!active) return;

  // Phase 2: the scale, then the codes.
  switch (p.mode) {
    case Mode::passthrough:
      quantize_chunks<Mode::passthrough>(p, stats, segment, t, row, group, first, stride, k1, x,
                                         chunks);
      break;
    case Mode::int8_symmetric:
      quantize_chunks<Mode::int8_symmetric>(p, stats, segment, t, row, group, first, stride, k1, x,
                                            chunks);
      break;
    case Mode::int8_asymmetric:
      quantize_chunks<Mode::int8_asymmetric>(p, stats, segment, t, row, group, first, stride, k1, x,
                                             chunks);
      break;
    case Mode::int8_static:
      quantize_chunks<Mode::int8_static>(p, stats, segment, t, row, group, first, stride, k1, x,
                                         chunks);
      break;
    case Mode::fp8_dynamic:
      quantize_chunks<Mode::fp8_dynamic>(p, stats, segment, t, row, group, first, stride, k1, x,
                                         chunks);
      break;
    case Mode::fp8_static:
      quantize_chunks<Mode::fp8_static>(p, stats, segment, t, row, group, first, stride, k1, x,
                                        chunks);
      break;
    case Mode::nvfp4:
      quantize_chunks<Mode::nvfp4>(p, stats, segment, t, row, group, first, stride, k1, x, chunks);
      break;
    case Mode::mxfp8:
      quantize_chunks<Mode::mxfp8>(p, stats, segment, t, row, group, first, stride, k1, x, chunks);
      break;
    case Mode::mxfp4:
      quantize_chunks<Mode::mxfp4>(p, stats, segment, t, row, group, first, stride, k1, x, chunks);
      break;
  }
}

// Segments of at most kShortChunks chunks (the 1x16 and 1x32 groups, rows of up to 64 elements):
// T <= 8 threads per segment, one chunk each, and kBatch segments per thread, so that each thread
// has kBatch loads in flight and the statistics need only warp shuffles. Longer segments go to
// quantize_segments: the 1x128 groups ran there at 85% of the copy bandwidth (4 threads of 4
// chunks a segment), here at 65% (16 threads of one chunk: the scale and the shuffles paid every
// 8 elements).
//
//   block b, slot j:  segments b·kBatch·(256/T) + j·(256/T) + threadIdx.x / T
constexpr int kShortChunks = 8;
constexpr int kBatch = 4;

// Where slot b of a thread lies: its segment's row and group (32-bit arithmetic; launch() checks
// that M·groups fits), and the start of the thread's chunk.
struct Slot {
  bool active;
  int32_t row, group;
  int32_t k1, c;  // within the row
};

template <Mode kMode, typename T>
__device__ void quantize_batch(const Params& p, int t, const Slot (&slots)[kBatch],
                               const Chunk<T> (&chunks)[kBatch], const Stats (&stats)[kBatch]) {
#pragma unroll
  for (int b = 0; b < kBatch; ++b) {
    if (!slots[b].active) continue;
    const SegmentScale s = segment_scale<kMode>(p, stats[b]);
    if (t == 0 && (!p.per_tensor || p.scale_row_stride != 0 || slots[b].row == 0))
      store_scale(p, slots[b].row, slots[b].group, s);
    if (slots[b].c < slots[b].k1)
      store_chunk<kMode>(p, s, slots[b].row, slots[b].c, slots[b].k1, chunks[b]);
  }
}

// Held to 64 registers (4 blocks an SM; ptxas spills 8 bytes): at its natural 79 registers 3 blocks
// fit, and the loads in flight were too few (fp8 1x128: 51% of the copy bandwidth; 64% with 4).
template <typename T>
__global__ void __launch_bounds__(kThreads, 4) quantize_short_segments(Params p, int threads) {
  allow_dependent_launch();
  clear_words(p);
  const int per_slot = kThreads / threads;
  const int t = static_cast<int>(threadIdx.x) & (threads - 1);
  const auto groups = static_cast<uint32_t>(p.groups),
             total = static_cast<uint32_t>(p.rows * p.groups);
  Slot slots[kBatch];
  Chunk<T> chunks[kBatch];
  Stats stats[kBatch];
#pragma unroll
  for (int b = 0; b < kBatch; ++b) {
    const uint32_t segment =
        (blockIdx.x * kBatch + b) * per_slot + (threadIdx.x >> log2_of(threads));
    Slot& slot = slots[b];
    slot.active = segment < total;
    slot.row = static_cast<int32_t>(segment / groups);
    slot.group = static_cast<int32_t>(segment - static_cast<uint32_t>(slot.row) * groups);
    const int32_t k0 = slot.group * static_cast<int32_t>(p.group);
    slot.k1 = min(static_cast<int32_t>(p.k), k0 + static_cast<int32_t>(p.group));
    slot.c = k0 + t * kChunk;
    if (slot.active && slot.c < slot.k1)
      chunks[b].load(static_cast<const T*>(p.x) + static_cast<int64_t>(slot.row) * p.k, slot.c,
                     slot.k1, p.vector_io);
  }
  // The statistics after every load is issued (see quantize_segments).
#pragma unroll
  for (int b = 0; b < kBatch; ++b) {
    if (slots[b].active && slots[b].c < slots[b].k1)
      stats[b].add(chunks[b], p.mode == Mode::int8_asymmetric);
    if (p.per_tensor) stats[b] = Stats();  // the tensor-wide statistics come from tensor_stats
    stats[b].reduce(threads, p.mode == Mode::int8_asymmetric);
  }
  switch (p.mode) {
    case Mode::passthrough:
      quantize_batch<Mode::passthrough>(p, t, slots, chunks, stats);
      break;
    case Mode::int8_symmetric:
      quantize_batch<Mode::int8_symmetric>(p, t, slots, chunks, stats);
      break;
    case Mode::int8_asymmetric:
      quantize_batch<Mode::int8_asymmetric>(p, t, slots, chunks, stats);
      break;
    case Mode::int8_static:
      quantize_batch<Mode::int8_static>(p, t, slots, chunks, stats);
      break;
    case Mode::fp8_dynamic:
      quantize_batch<Mode::fp8_dynamic>(p, t, slots, chunks, stats);
      break;
    case Mode::fp8_static:
      quantize_batch<Mode::fp8_static>(p, t, slots, chunks, stats);
      break;
    case Mode::nvfp4:
      quantize_batch<Mode::nvfp4>(p, t, slots, chunks, stats);
      break;
    case Mode::mxfp8:
      quantize_batch<Mode::mxfp8>(p, t, slots, chunks, stats);
      break;
    case Mode::mxfp4:
      quantize_batch<Mode::mxfp4>(p, t, slots, chunks, stats);
      break;
  }
}

// max|x|, max x and min x over the whole tensor, as order keys (stats pre-set to 0, 0, ~0).
template <typename T>
__global__ void __launch_bounds__(kThreads)
    tensor_stats(const T* x, int64_t count, unsigned* keys) {
  Stats s;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * kThreads)
    s.add(to_float(x[i]));
  s.reduce(32, true);
  if (threadIdx.x % 32 == 0) {
    atomicMax(&keys[0], order_key(s.amax));
    atomicMax(&keys[1], order_key(s.hi));
    atomicMin(&keys[2], order_key(s.lo));
  }
}

Mode mode_of(const LayerConfig& c) {
  switch (c.family) {
    case Family::nvfp4:
      return Mode::nvfp4;
    case Family::mxfp8:
      return Mode::mxfp8;
    case Family::mxfp4:
      return Mode::mxfp4;
    case Family::fp8_scaled_mm:
    case Family::fp8_block:
    case Family::w4a8_fp8:
      return c.act_scale_static ? Mode::fp8_static : Mode::fp8_dynamic;
    case Family::int8_scaled_mm:
    case Family::w4a8_int:
      if (c.act_scale_static) return Mode::int8_static;
      return c.act_zero_points ? Mode::int8_asymmetric : Mode::int8_symmetric;
    default:
      throw Error(cat("activation quantization: ", name(c.family), " is a weight-only family"));
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

void launch(const Params& p, ScalarType x_type, cudaStream_t stream) {
  const int64_t chunks = (p.group + kChunk - 1) / kChunk;
  const int64_t segments = p.rows * p.groups;
  if (segments == 0) return;
  int threads = 1;
  if (chunks <= kShortChunks) {  // one chunk per thread, kBatch segments per thread
    require(segments < (int64_t{1} << 31) && p.k < (int64_t{1} << 30),
            "activation quantization: ", segments, " scale groups of ", p.k,
            " elements; at most 2^31 and 2^30");
    while (threads < chunks) threads *= 2;
    const int64_t per_block = static_cast<int64_t>(kThreads / threads) * kBatch;
    const auto blocks = static_cast<unsigned>((segments + per_block - 1) / per_block);
    switch (x_type) {
      case ScalarType::bf16:
        quantize_short_segments<__nv_bfloat16><<<blocks, kThreads, 0, stream>>>(p, threads);
        break;
      case ScalarType::fp16:
        quantize_short_segments<__half><<<blocks, kThreads, 0, stream>>>(p, threads);
        break;
      case ScalarType::fp32:
        quantize_short_segments<float><<<blocks, kThreads, 0, stream>>>(p, threads);
        break;
      default:
        throw Error(
            cat("activation quantization: x of ", name(x_type), "; expected bf16, fp16 or fp32"));
    }
    check_launch("quantize_short_segments");
    return;
  }
  // Long segments: enough threads (up to kThreads) that each holds at most kRegisterChunks chunks.
  while (threads < kThreads && threads * kRegisterChunks < chunks) threads *= 2;
  const int per_block = kThreads / threads;
  const auto blocks = static_cast<unsigned>((segments + per_block - 1) / per_block);
  switch (x_type) {
    case ScalarType::bf16:
      quantize_segments<__nv_bfloat16><<<blocks, kThreads, 0, stream>>>(p, threads);
      break;
    case ScalarType::fp16:
      quantize_segments<__half><<<blocks, kThreads, 0, stream>>>(p, threads);
      break;
    case ScalarType::fp32:
      quantize_segments<float><<<blocks, kThreads, 0, stream>>>(p, threads);
      break;
    default:
      throw Error(
          cat("activation quantization: x of ", name(x_type), "; expected bf16, fp16 or fp32"));
  }
  check_launch("quantize_segments");
}

}  // namespace

void quantize_activations(const LayerConfig& c, const TensorView& x, const TensorView& input_scale,
                          const TensorView& input_zero_point, const ActQuantTarget& t,
                          void* stream_handle) {
  require(x.device().is_cuda() && x.is_contiguous(), "activation quantization: x ", x.describe(),
          " must be contiguous on a CUDA device");
  DeviceGuard guard(x.device().index);
  const cudaStream_t stream = native(stream_handle);
  Params p{};
  p.x = x.data();
  p.rows = x.rows();
  p.k = c.part_k();
  p.mode = mode_of(c);
  p.per_tensor = c.act_scale == Granularity::per_tensor;
  p.group = c.act_scale == Granularity::per_group ? c.act_group_size : p.k;
  p.groups = (p.k + p.group - 1) / p.group;
  if (c.has_static_input_scale()) p.input_scale = input_scale.data_as<const float>();
  if (c.act_scale_static && c.act_zero_points)
    p.input_zero_point = input_zero_point.data_as<const int32_t>();
  p.codes = t.codes;
  p.codes_ld = t.codes_row_stride;
  p.scales = t.scales;
  p.scale_row_stride = t.scale_row_stride;
  p.scale_group_stride = t.scale_group_stride;
  const bool mx_scales = c.family == Family::mxfp8 || c.family == Family::mxfp4;
  p.scale_kind = c.family == Family::nvfp4 ? ScaleKind::e4m3
                 : mx_scales               ? ScaleKind::e8m0
                                           : ScaleKind::fp32;
  p.zero_points = t.zero_points;
  p.zero_point_row_stride = t.zero_point_row_stride;
  p.dequantized = t.dequantized;
  p.cleared = t.cleared;
  p.cleared_count = t.cleared_count;
  p.vector_io = p.k % kChunk == 0 && p.group % kChunk == 0 && p.codes_ld % kChunk == 0 &&
                aligned16(p.x) && aligned16(p.codes);
  require((p.mode != Mode::nvfp4 && p.mode != Mode::mxfp4) || (p.k % 2 == 0 && p.codes_ld % 2 == 0),
          "activation quantization: packed 4-bit codes need an even K and pitch");

  const bool dynamic_per_tensor = p.per_tensor && !c.act_scale_static;
  Scratch keys(dynamic_per_tensor ? 3 * sizeof(unsigned) : 0, stream, x.device().index);
  if (dynamic_per_tensor) {
    check_cuda(cudaMemsetAsync(keys.get(), 0, 2 * sizeof(unsigned), stream), "cudaMemsetAsync");
    check_cuda(cudaMemsetAsync(keys.get<unsigned>() + 2, 0xff, sizeof(unsigned), stream),
               "cudaMemsetAsync");
    const int64_t count = x.numel();
    const auto blocks =
        static_cast<unsigned>(std::min<int64_t>((count + kThreads - 1) / kThreads, 1024));
    switch (x.dtype()) {
      case ScalarType::bf16:
        tensor_stats<<<blocks, kThreads, 0, stream>>>(x.data_as<const __nv_bfloat16>(), count,
                                                      keys.get<unsigned>());
        break;
      case ScalarType::fp16:
        tensor_stats<<<blocks, kThreads, 0, stream>>>(x.data_as<const __half>(), count,
                                                      keys.get<unsigned>());
        break;
      default:
        tensor_stats<<<blocks, kThreads, 0, stream>>>(x.data_as<const float>(), count,
                                                      keys.get<unsigned>());
        break;
    }
    check_launch("tensor_stats");
    p.tensor_stats = keys.get<unsigned>();
  }
  launch(p, x.dtype(), stream);
}

void convert_to_bf16(const TensorView& x, void* out, int64_t row_stride, void* stream_handle) {
  DeviceGuard guard(x.device().index);
  Params p{};
  p.x = x.data();
  p.rows = x.rows();
  p.k = x.size(-1);
  p.group = p.k;
  p.groups = 1;
  p.mode = Mode::passthrough;
  p.codes = out;
  p.codes_ld = row_stride;
  p.dequantized = true;
  p.vector_io = p.k % kChunk == 0 && row_stride % kChunk == 0 && aligned16(p.x) && aligned16(out);
  launch(p, x.dtype(), native(stream_handle));
}

}  // namespace qlinear::cuda
