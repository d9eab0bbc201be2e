// The epilogue qlinear applies after a GEMM that cannot apply it itself (cuBLASLt's int8 IMMA,
// the emulation's fp32 product, a bias after an fp8 GEMM):
//   out[m, n] = (acc[m, n] - z[m] · col_sum[n]) · row_scale[m] · col_scale[n] + bias[n]
// in fp32, rounded once to the output type. Missing terms are skipped; a stride of 0 broadcasts one
// value (per-tensor scales). acc may be out itself (in-place bias). CUDA-free header.
#pragma once

#include <cstdint>

#include "qlinear/tensor.hpp"

namespace qlinear::cuda {

struct Epilogue {
  const void* acc = nullptr;
  ScalarType acc_type = ScalarType::fp32;  // int32, fp32, bf16 or fp16
  int64_t rows = 0, cols = 0, acc_row_stride = 0;
  const float* row_scale = nullptr;  // per token (activation scale)
  int64_t row_scale_stride = 0;
  const float* col_scale = nullptr;  // per channel (weight scale)
  int64_t col_scale_stride = 0;
  const int32_t* row_zero = nullptr;  // activation zero point; needs col_sum
  int64_t row_zero_stride = 0;
  const int32_t* col_sum = nullptr;  // Σ_k w[n, k] of int8 weights
  const void* bias = nullptr;        // [N] of bias_type (fp32, bf16 or fp16), or null
  ScalarType bias_type = ScalarType::fp32;
  void* out = nullptr;  // [rows, cols] contiguous
  ScalarType out_type = ScalarType::bf16;
};
void run_epilogue(const Epilogue& e, void* stream);

// out = acc (+ bias), rounded once to out's type: the epilogue of a GEMM that wrote its product to
// acc ([out's rows, N] of acc_type with `acc_row_stride`; acc may be out itself, for a bias added
// in place). bias may be undefined.
void add_bias_and_round(const void* acc, ScalarType acc_type, int64_t acc_row_stride,
                        const TensorView& bias, const TensorView& out, void* stream);

// sums[n] = Σ_k w[n, k] over int8 rows with pitch `row_stride` (the azp correction's col_sum).
void int8_row_sums(const void* w, int64_t rows, int64_t cols, int64_t row_stride, int32_t* sums,
                   void* stream);

}  // namespace qlinear::cuda
