// What the two oneDNN int8 kernels share: the platform and shape limits, the weight-side vectors
// (per-N scales, column sums), and the row routines around oneDNN's matmul: activation
// quantization exactly as qlinear/reference.hpp prescribes for int8_scaled_mm, and the epilogue
// that turns int32 accumulators into the output. The row routines are AVX-512 (F/BW/VL/DQ + BF16)
// code: only the kernels call them, and those require the avx512_vnni level.
#pragma once

#include <cstdint>
#include <vector>

#include "qlinear/error.hpp"
#include "qlinear/kernel.hpp"

namespace qlinear::onednn {

// oneDNN 2.6 is exact in int8 only from AVX-512 VNNI up: below it, it takes gemm:jit, whose
// vpmaddubsw pair sums saturate at 16 bits (every output of a 67x100x1000 probe was wrong under
// ONEDNN_MAX_CPU_ISA=AVX512_CORE or AVX2).
Verdict int8_supported(const Platform& platform);
// Σ_k (q - z)·w must fit the int32 accumulator: |q - z| <= 255, |w| <= 128, so K <= 65536.
Verdict int8_fits_int32(const LayerConfig& config);

// What both kernels are alike in: provider, family, platform check, and weights prepared on the
// CPU by `Prepared(config, weights)`.
template <class Prepared>
class Int8Kernel : public Kernel {
 public:
  explicit Int8Kernel(std::string name)
      : info_{std::move(name), Provider::onednn, Family::int8_scaled_mm} {}
  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& platform) const override { return int8_supported(platform); }
  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& config,
                                                         const LayerWeights& weights,
                                                         Device device) const override {
    require(device.is_cpu(), name(), ": weights must be on the CPU, not ", device.str());
    return std::make_shared<Prepared>(config, weights);
  }

 private:
  KernelInfo info_;
};

// The weight scale of every output row (per-tensor scales repeated), f32 [N].
std::vector<float> weight_scales_per_n(const LayerConfig& config, const LayerWeights& weights);
// Σ_k w[n, k] of the int8 weights [N, K], for the zero-point correction.
std::vector<int32_t> column_sums(const LayerWeights& weights);

// The per-call activation scheme of an int8_scaled_mm config.
struct Int8ActivationScheme {
  bool per_token = false;    // one scale per row, else one for the whole tensor
  bool zero_points = false;  // azp: x̂ = (q - z) · s
  bool is_static = false;    // scale (and zero) from the checkpoint
  float static_scale = 1.f;
  int32_t static_zero = 0;
};

// Quantizes x [M, K] (bf16, fp16 or fp32) into codes [M, K] and, per scale row (M rows per token,
// 1 per tensor), scales and zero points (zeros may be null without zero points). Multithreaded
// over rows. Codes are q as int8, or with `as_u8` q + kU8CodeOffset as uint8 (the same scales
// and zeros): what oneDNN's u8 x s8 matmul takes.
inline constexpr int32_t kU8CodeOffset = 128;
void quantize_int8(const Int8ActivationScheme& scheme, const TensorView& x, bool as_u8, void* codes,
                   float* scales, int32_t* zeros);

// One output row: out[n] = (acc[n] - zero · colsum[n]) · (row_scale · col_scale[n]) + bias[n],
// rounded once to out_type (bf16, fp16 or fp32). colsum may be null when zero is 0, bias may be
// null.
void dequantize_row(const int32_t* acc, int64_t n, int32_t zero, const int32_t* colsum,
                    float row_scale, const float* col_scale, const float* bias, ScalarType out_type,
                    void* out);

// bias [N] of fp32, bf16 or fp16 as f32.
void bias_to_f32(const TensorView& bias, float* out);

}  // namespace qlinear::onednn
