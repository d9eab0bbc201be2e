// The row routines work 16 lanes at a time with masked tails (K and N need not be multiples of
// 16). Quantization mirrors the reference exactly: scales and divisions in fp32, codes by
// round-to-nearest-even, then saturation; so codes and scales are bit-identical to it.
#include "onednn/int8_common.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "qlinear/error.hpp"

// GCC 12's AVX-512 intrinsic headers pass undefined vectors through masked operations, which its
// own -Wuninitialized then reports (a known false positive of the headers, not of this code).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define QLINEAR_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,f16c")))

namespace qlinear::onednn {
namespace {

QLINEAR_AVX512 inline __mmask16 tail_mask(int64_t remaining) {
  return remaining >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << remaining) - 1);
}

// 16 elements of a bf16 / fp16 / fp32 row as fp32 (masked lanes read as 0).
QLINEAR_AVX512 inline __m512 load16(ScalarType type, const void* row, int64_t i, __mmask16 mask) {
  switch (type) {
    case ScalarType::bf16: {
      const __m256i h = _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(row) + i);
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    case ScalarType::fp16:
      return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(row) + i));
    default:
      return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(row) + i);
  }
}

struct RowStats {
  float amax = 0, lo = 0, hi = 0;
};

// Dynamic scales read x here first, and x usually comes from memory; with the hardware
// prefetcher alone the loop stalled on its loads (up to 2 % of an M = 256 call; bench/NOTES.md).
constexpr int64_t kPrefetchBytes = 4096;

QLINEAR_AVX512 RowStats stats_of(ScalarType type, const void* row, int64_t k) {
  __m512 amax = _mm512_setzero_ps();
  __m512 lo = _mm512_set1_ps(__builtin_inff()), hi = _mm512_set1_ps(-__builtin_inff());
  const char* bytes = static_cast<const char*>(row);
  const int64_t elem_bytes = info(type).bits / 8;
  for (int64_t i = 0; i < k; i += 16) {
    _mm_prefetch(bytes + i * elem_bytes + kPrefetchBytes, _MM_HINT_T0);
    const __mmask16 m = tail_mask(k - i);
    const __m512 v = load16(type, row, i, m);
    amax = _mm512_max_ps(amax, _mm512_abs_ps(v));
    lo = _mm512_mask_min_ps(lo, m, lo, v);
    hi = _mm512_mask_max_ps(hi, m, hi, v);
  }
  return {_mm512_reduce_max_ps(amax), _mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi)};
}

// q = sat(rne(x / scale) + zero) into int8, plus `offset` (0, or kU8CodeOffset for uint8 codes).
QLINEAR_AVX512 void quantize_row(ScalarType type, const void* row, int64_t k, float scale,
                                 float zero, int32_t offset, char* codes) {
  const __m512 s = _mm512_set1_ps(scale), z = _mm512_set1_ps(zero);
  const __m512 lo = _mm512_set1_ps(-128.f), hi = _mm512_set1_ps(127.f);
  const __m512i off = _mm512_set1_epi32(offset);
  for (int64_t i = 0; i < k; i += 16) {
    const __mmask16 m = tail_mask(k - i);
    __m512 q = _mm512_div_ps(load16(type, row, i, m), s);
    q = _mm512_roundscale_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, z), lo), hi);
    // Saturated above, so the low byte of q + offset is the int8 or uint8 code.
    _mm512_mask_cvtepi32_storeu_epi8(codes + i, m, _mm512_add_epi32(_mm512_cvtps_epi32(q), off));
  }
}

// The scale and zero point of one scale row from its statistics (dynamic schemes).
void dynamic_scale(const Int8ActivationScheme& scheme, const RowStats& st, float& scale,
                   float& zero) {
  if (scheme.zero_points) {
    scale = (st.hi - st.lo) / 255.f;
    if (scale == 0) scale = 1.f;
    zero = __builtin_nearbyintf(-128.f - st.lo / scale);
  } else {
    scale = st.amax > 0 ? st.amax / 127.f : 1.f;
    zero = 0;
  }
}

}  // namespace

Verdict int8_supported(const Platform& platform) {
  if (platform.kind != PlatformKind::cpu) return Verdict::no("oneDNN runs on the CPU only");
  if (platform.cpu.isa < CpuIsa::avx512_vnni)
    return Verdict::no(
        cat("needs avx512_vnni (", name(platform.cpu.isa),
            " here): oneDNN 2.6's int8 below AVX-512 VNNI saturates 16-bit pair sums"));
  return Verdict::yes();
}

Verdict int8_fits_int32(const LayerConfig& config) {
  if (config.part_k() > 65536)
    return Verdict::no(
        cat("K (", config.part_k(), ") above 65536 could overflow the int32 accumulator"));
  return Verdict::yes();
}

std::vector<float> weight_scales_per_n(const LayerConfig& config, const LayerWeights& weights) {
  const int64_t n = config.part_n();
  const auto* s = weights.weight_scale.data_as<const float>();
  std::vector<float> per_n(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j)
    per_n[j] = config.weight_scale == Granularity::per_tensor ? s[0] : s[j];
  return per_n;
}

std::vector<int32_t> column_sums(const LayerWeights& weights) {
  const int64_t n = weights.weight.size(0), k = weights.weight.size(1);
  const auto* w = weights.weight.data_as<const int8_t>();
  std::vector<int32_t> sums(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    int32_t sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += w[j * k + i];
    sums[j] = sum;
  }
  return sums;
}

void quantize_int8(const Int8ActivationScheme& scheme, const TensorView& x, bool as_u8, void* codes,
                   float* scales, int32_t* zeros) {
  const ScalarType type = x.dtype();
  const int32_t offset = as_u8 ? kU8CodeOffset : 0;
  auto* out = static_cast<char*>(codes);
  const int64_t k = x.size(-1), m = x.rows();
  const int64_t row_bytes = k * (info(type).bits / 8);
  const auto* base = static_cast<const char*>(x.data());
  const bool threaded = m * k >= (int64_t{1} << 16);

  if (scheme.is_static || !scheme.per_token) {
    // One scale for the tensor: from the checkpoint, or from statistics over every row.
    float scale = scheme.static_scale, zero = static_cast<float>(scheme.static_zero);
    if (!scheme.is_static) {
      RowStats all{0, __builtin_inff(), -__builtin_inff()};
#pragma omp parallel if (threaded)
      {
        RowStats mine{0, __builtin_inff(), -__builtin_inff()};
#pragma omp for schedule(static) nowait
        for (int64_t r = 0; r < m; ++r) {
          const RowStats st = stats_of(type, base + r * row_bytes, k);
          mine = {std::max(mine.amax, st.amax), std::min(mine.lo, st.lo), std::max(mine.hi, st.hi)};
        }
#pragma omp critical
        all = {std::max(all.amax, mine.amax), std::min(all.lo, mine.lo), std::max(all.hi, mine.hi)};
      }
      dynamic_scale(scheme, all, scale, zero);
    }
    scales[0] = scale;
    if (zeros) zeros[0] = static_cast<int32_t>(zero);
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t r = 0; r < m; ++r)
      quantize_row(type, base + r * row_bytes, k, scale, zero, offset, out + r * k);
    return;
  }
#pragma omp parallel for schedule(static) if (threaded)
  for (int64_t r = 0; r < m; ++r) {
    const void* row = base + r * row_bytes;
    float scale = 1, zero = 0;
    dynamic_scale(scheme, stats_of(type, row, k), scale, zero);
    scales[r] = scale;
    if (zeros) zeros[r] = static_cast<int32_t>(zero);
    quantize_row(type, row, k, scale, zero, offset, out + r * k);
  }
}

QLINEAR_AVX512 void dequantize_row(const int32_t* acc, int64_t n, int32_t zero,
                                   const int32_t* colsum, float row_scale, const float* col_scale,
                                   const float* bias, ScalarType out_type, void* out) {
  const __m512i z = _mm512_set1_epi32(zero);
  const __m512 rs = _mm512_set1_ps(row_scale);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    __m512i a = _mm512_maskz_loadu_epi32(m, acc + j);
    if (zero != 0)
      a = _mm512_sub_epi32(a, _mm512_mullo_epi32(z, _mm512_maskz_loadu_epi32(m, colsum + j)));
    const __m512 s = _mm512_mul_ps(rs, _mm512_maskz_loadu_ps(m, col_scale + j));
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(a), s);
    if (bias) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, bias + j));
    switch (out_type) {
      case ScalarType::bf16:
        _mm256_mask_storeu_epi16(static_cast<uint16_t*>(out) + j, m,
                                 reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(y)));
        break;
      case ScalarType::fp16:
        _mm256_mask_storeu_epi16(static_cast<uint16_t*>(out) + j, m,
                                 _mm512_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        break;
      default:
        _mm512_mask_storeu_ps(static_cast<float*>(out) + j, m, y);
        break;
    }
  }
}

QLINEAR_AVX512 void bias_to_f32(const TensorView& bias, float* out) {
  const int64_t n = bias.numel();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = tail_mask(n - j);
    _mm512_mask_storeu_ps(out + j, m, load16(bias.dtype(), bias.data(), j, m));
  }
}

}  // namespace qlinear::onednn
