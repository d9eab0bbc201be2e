// int8 W8A8 through oneDNN's int8 matmul to int32, with qlinear's own epilogue: every
// int8_scaled_mm config (per-tensor or per-token activations, static or dynamic, symmetric or
// azp; per-tensor or per-channel weights; bias; bf16/fp16/fp32 output).
//
//   x [M, K] --quantize (reference rules)--> q [M, K] s8, s_x [M|1], z [M|1]
//   q · W [N, K]ᵀ --oneDNN s8 x s8 -> s32, no scales--> acc [M, N]
//   y[m, n] = (acc - z[m] · colsum[n]) · s_x[m] · s_w[n] + bias[n]  --> out_type
//
// NOTES: oneDNN 2.6 leaves its fast brgemm path when scales are given at run time (gemm:jit to
// f32, a reference loop to bf16; ../shared/peers/cpu-onednn-2026-11-25.log). Without scales it
// stays on brgemm, so the per-call scales go into this epilogue, one pass over [M, N] int32.
#include <omp.h>

#include "onednn/int8_common.hpp"
#include "onednn/matmul.hpp"
#include "qlinear/error.hpp"

namespace qlinear::onednn {
namespace {

struct Prepared final : PreparedWeights {
  Prepared(const LayerConfig& config, const LayerWeights& weights)
      : PreparedWeights(config),
        matmul({dt::s8, dt::s8, dt::s32, config.part_n(), config.part_k(), {}, false, false},
               weights.weight.data()),
        col_scale(weight_scales_per_n(config, weights)) {
    if (config.act_zero_points) colsum = column_sums(weights);
    scheme.per_token = config.act_scale == Granularity::per_token;
    scheme.zero_points = config.act_zero_points;
    scheme.is_static = config.act_scale_static;
    if (scheme.is_static) {
      scheme.static_scale = *weights.input_scale.data_as<const float>();
      if (scheme.zero_points)
        scheme.static_zero = *weights.input_zero_point.data_as<const int32_t>();
    }
  }
  PackedMatmul matmul;
  std::vector<float> col_scale;  // s_w [N]
  std::vector<int32_t> colsum;   // [N], with zero points only
  Int8ActivationScheme scheme;
};

class OnednnInt8S32Epilogue final : public Int8Kernel<Prepared> {
 public:
  OnednnInt8S32Epilogue() : Int8Kernel("onednn_int8_s32_epilogue") {}

  Verdict can_implement(const LayerConfig& config) const override {
    return int8_fits_int32(config);
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream) const override {
    const auto& p = static_cast<const Prepared&>(prepared);
    const int64_t m = x.rows(), n = p.config().part_n(), k = p.config().part_k();
    const int64_t scale_rows = p.scheme.per_token && !p.scheme.is_static ? m : 1;

    auto* codes = static_cast<int8_t*>(thread_buffer(0, m * k));
    auto* acc = static_cast<int32_t*>(thread_buffer(1, m * n * 4));
    auto* row_scale = static_cast<float*>(thread_buffer(2, scale_rows * 4));
    auto* row_zero = static_cast<int32_t*>(thread_buffer(3, scale_rows * 4));
    float* bias_f32 = bias.defined() ? static_cast<float*>(thread_buffer(4, n * 4)) : nullptr;
    if (bias_f32) bias_to_f32(bias, bias_f32);

    quantize_int8(p.scheme, x, codes, row_scale, p.scheme.zero_points ? row_zero : nullptr);
    p.matmul.run(m, codes, acc);

    const int64_t row_bytes = n * (qlinear::info(out.dtype()).bits / 8);
    auto* y = static_cast<char*>(out.data());
#pragma omp parallel for schedule(static) if (m * n >= (int64_t{1} << 16))
    for (int64_t r = 0; r < m; ++r) {
      const int64_t s = scale_rows == 1 ? 0 : r;
      dequantize_row(acc + r * n, n, p.scheme.zero_points ? row_zero[s] : 0, p.colsum.data(),
                     row_scale[s], p.col_scale.data(), bias_f32, out.dtype(), y + r * row_bytes);
    }
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_int8_s32_epilogue() {
  return std::make_shared<OnednnInt8S32Epilogue>();
}

}  // namespace qlinear::onednn
