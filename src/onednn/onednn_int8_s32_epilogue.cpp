// int8 W8A8 through oneDNN's int8 matmul to int32, with qlinear's own epilogue: every
// int8_scaled_mm config (per-tensor or per-token activations, static or dynamic, symmetric or
// azp; per-tensor or per-channel weights; bias; bf16/fp16/fp32 output).
//
//   x [M, K] --quantize (reference rules)--> q [M, K], stored as u = q + 128 (u8); s_x, z [M|1]
//   u · W [N, K]ᵀ --oneDNN u8 x s8 -> s32, no scales--> acc [M, N]
//   y[m, n] = (acc - (z[m] + 128) · colsum[n]) · s_x[m] · s_w[n] + bias[n]  --> out_type
//
// NOTES:
// - oneDNN 2.6 leaves its fast brgemm path when scales are given at run time (gemm:jit to f32, a
//   reference loop to bf16; ../shared/peers/cpu-onednn-2026-11-25.log). Without scales it stays
//   on brgemm, so the per-call scales go into this epilogue.
// - u8 codes: vpdpbusd multiplies u8 by s8, so oneDNN runs s8 sources shifted by 128 and carries
//   a compensation after the packed weights (which also keeps them from being sliced by columns);
//   u8 sources need neither (1-3 % at M = 256, bench/NOTES.md). The 128 comes back
//   exactly in the int32 zero-point term, and u <= 255 keeps acc in int32 under the same K limit.
// - From kSliceMinM rows each thread runs oneDNN (single-threaded inside the parallel loop) on a
//   slice of columns and the epilogue on that slice's int32 block while it is still in cache; the
//   whole [M, N] int32 product otherwise goes to memory and back (3 % of an M = 256 call on
//   28672 x 4096). Below it the weights' read dominates, and one oneDNN call over all threads
//   streams them faster than a slice per thread (10-20 % at M = 1 and 16).
#include <omp.h>

#include <algorithm>
#include <exception>

#include "onednn/int8_common.hpp"
#include "onednn/matmul.hpp"
#include "qlinear/error.hpp"

namespace qlinear::onednn {
namespace {

// The sliced path (see NOTES): from this M, and int32 blocks of at most this many bytes.
constexpr int64_t kSliceMinM = 64;
constexpr int64_t kSliceBytes = int64_t{2} << 20;

// Columns per slice at M rows: whole column blocks, at most kSliceBytes of int32, and a number
// of slices that is a multiple of the threads, so that each thread gets the same share.
int64_t slice_columns(int64_t m, int64_t n, int64_t block, int64_t threads) {
  const int64_t fit = std::max<int64_t>(1, kSliceBytes / (4 * m * block)) * block;
  const int64_t slices = (n + fit - 1) / fit;
  const int64_t balanced = (slices + threads - 1) / threads * threads;
  return ((n + balanced - 1) / balanced + block - 1) / block * block;
}

struct Prepared final : PreparedWeights {
  Prepared(const LayerConfig& config, const LayerWeights& weights)
      : PreparedWeights(config),
        matmul({dt::u8, dt::s8, dt::s32, config.part_n(), config.part_k(), {}, false, false},
               weights.weight.data()),
        col_scale(weight_scales_per_n(config, weights)),
        colsum(column_sums(weights)) {
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
  std::vector<int32_t> colsum;   // [N]
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

    auto* codes = thread_buffer(0, m * k);
    auto* row_scale = static_cast<float*>(thread_buffer(2, scale_rows * 4));
    auto* row_zero = static_cast<int32_t*>(thread_buffer(3, scale_rows * 4));
    float* bias_f32 = bias.defined() ? static_cast<float*>(thread_buffer(4, n * 4)) : nullptr;
    if (bias_f32) bias_to_f32(bias, bias_f32);

    quantize_int8(p.scheme, x, /*as_u8=*/true, codes, row_scale,
                  p.scheme.zero_points ? row_zero : nullptr);

    const int64_t out_bytes = qlinear::info(out.dtype()).bits / 8;
    auto* y = static_cast<char*>(out.data());
    // Rows of the output columns [n0, n0 + cols) from their int32 block acc [m, cols].
    const auto finish = [&](const int32_t* acc, int64_t n0, int64_t cols, int64_t r) {
      const int64_t s = scale_rows == 1 ? 0 : r;
      const int32_t zero = (p.scheme.zero_points ? row_zero[s] : 0) + kU8CodeOffset;
      dequantize_row(acc + r * cols, cols, zero, p.colsum.data() + n0, row_scale[s],
                     p.col_scale.data() + n0, bias_f32 ? bias_f32 + n0 : nullptr, out.dtype(),
                     y + (r * n + n0) * out_bytes);
    };

    const int64_t block = p.matmul.column_block();
    if (m < kSliceMinM || block == 0) {
      auto* acc = static_cast<int32_t*>(thread_buffer(1, m * n * 4));
      p.matmul.run(m, codes, acc);
#pragma omp parallel for schedule(static) if (m * n >= (int64_t{1} << 16))
      for (int64_t r = 0; r < m; ++r) finish(acc, 0, n, r);
      return;
    }
    const int64_t cols = slice_columns(m, n, block, omp_get_max_threads());
    const int64_t slices = (n + cols - 1) / cols;
    std::exception_ptr error;
    // Dynamic: a thread that the scheduler takes away for a while does fewer slices.
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < slices; ++i) {
      try {
        const int64_t n0 = i * cols, width = std::min(cols, n - n0);
        auto* acc = static_cast<int32_t*>(thread_buffer(1, m * width * 4));
        p.matmul.run_columns(m, n0, width, codes, acc);
        for (int64_t r = 0; r < m; ++r) finish(acc, n0, width, r);
      } catch (...) {
#pragma omp critical
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_int8_s32_epilogue() {
  return std::make_shared<OnednnInt8S32Epilogue>();
}

}  // namespace qlinear::onednn
