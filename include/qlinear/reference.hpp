// The reference oracle: exact decoding of every format and the activation quantization of every
// family, in plain scalar code. Every other kernel is tested against it.
//
// Activation quantization, as every kernel must do it (scales and divisions in fp32, codes by
// round-to-nearest-even with saturation):
//   int8, symmetric      s = amax / 127 (1 when amax = 0);           q = sat(rne(x / s))
//   int8, azp (dynamic)  s = (max - min) / 255 (1 when 0); z = rne(-128 - min / s); q = sat(rne(x / s) + z)
//   int8, static         s = input_scale, z = input_zero_point (or 0); q = sat(rne(x / s) + z)
//   fp8 e4m3             s = amax / 448 (1 when amax = 0), or input_scale; q = e4m3_satfinite(x / s)
//                        per tensor, per token, or per group of act_group_size along K (fp8_block)
//   nvfp4 (per 16)       g = 1 / input_scale; sf = e4m3(g · (amax / 6)); q = e2m1(x · (1 / (sf / g)))
//                        (q = 0 when sf = 0); x̂ = q · sf · input_scale
//   mxfp8 (per 32)       e = clamp(floor(log2(amax)) - 8, -127, 127) (e = -127 when amax = 0);
//                        scale = 2^e as e8m0; q = e4m3_satfinite(x / 2^e)
//   mxfp4 (per 32)       the same with e2m1: e = clamp(floor(log2(amax)) - 2, -127, 127);
//                        q = e2m1_satfinite(x / 2^e) (OCP MX: 2 is e2m1's largest exponent)
// Dequantized: x̂ = (q - z) · s. The reference then computes y = Σ_k x̂·ŵ + bias in float64 and
// rounds to the output type once.
#pragma once

#include <vector>

#include "qlinear/kernel.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear::reference {

// The exact dequantized weight ŵ as float64, row-major [N, K] (shapes of the partition).
std::vector<double> dequantize_weights(const LayerConfig& config, const LayerWeights& weights);

// x quantized as the family prescribes (config.act_quant must be set). Shapes, with x as [M, K]:
//   codes [M, K] of act_quant; scales [1] (per tensor), [M] (per token) or [M, K / act_group_size]
//   of act_scale_type(); zero_points [1] or [M] int32 when the config has act_zero_points.
struct QuantizedActivations {
  Tensor codes;
  Tensor scales;
  Tensor zero_points;
};
QuantizedActivations quantize_activations(const LayerConfig& config, const LayerWeights& weights,
                                          const TensorView& x);

// x̂ as float64 [M, K]: x decoded (weight-only families) or quantized then dequantized.
std::vector<double> activations_as_used(const LayerConfig& config, const LayerWeights& weights,
                                        const TensorView& x);

// Σ_k x̂[m,k]·ŵ[n,k] + bias[n] as float64 [M, N], not yet rounded to the output type.
std::vector<double> linear_f64(const std::vector<double>& x_hat, const std::vector<double>& w_hat,
                               int64_t m, int64_t n, int64_t k, const TensorView& bias);

// Σ_k |x̂[m,k]·ŵ[n,k]| + |bias[n]| as float64 [M, N]: the scale against which kernel errors are
// measured (see Kernel::tolerance).
std::vector<double> magnitude_f64(const std::vector<double>& x_hat, const std::vector<double>& w_hat,
                                  int64_t m, int64_t n, int64_t k, const TensorView& bias);

// The reference kernel of a family (name "reference_<family>"); runs on the CPU.
std::shared_ptr<const Kernel> make_kernel(Family family);

}  // namespace qlinear::reference
