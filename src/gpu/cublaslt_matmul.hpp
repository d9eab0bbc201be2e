// The one cuBLASLt call behind every cublaslt kernel and the bf16 GEMM of the emulation kernels.
//
// qlinear's row-major y[M, N] = x[M, K] · W[N, K]ᵀ is cuBLASLt's column-major D[N, M] =
// op(A) · B with A = W (op T, the "TN" form fp8 and int8 tensor cores require) and B = x, so
// cuBLASLt's "A scale" is the weight's and its "B scale" the activation's: OUTER_VEC_32F takes
// [N] weight scales and [M] token scales; VEC128_32F / BLK128x128_32F take 1x128 token-group and
// 128x128 weight-block scales (layouts in fp8_block.cpp).
//
// Descriptors are RAII objects made per call (cheap, and per-call pointers make them unshareable
// between threads); the algorithm is chosen once per problem and cached: cuBLASLt's heuristic's
// first answer, or, with tuning on (QLINEAR_CUBLASLT_TUNE=1, or set_tuning), the fastest of its
// first 8 answers timed on the first call's own operands. The heuristic is told each operand's
// pointer alignment (up to its default 256 bytes), which is part of the cached problem: operands
// read in place (a caller's x or out) need not be 256-byte aligned.
#pragma once

#include <cublasLt.h>

#include <cstdint>
#include <optional>
#include <string>

namespace qlinear::cublaslt {

// Turns a failed cuBLAS status into a qlinear::Error naming the call.
void check_cublas(cublasStatus_t status, const char* call);

enum class Scaling : int32_t {
  none = -1,
  scalar = CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F,
  outer_vector = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F,
  vec128 = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F,
  block128x128 = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F,
};

struct Problem {
  int device = 0;
  int64_t m = 0, n = 0, k = 0;
  int64_t w_row_stride = 0, x_row_stride = 0, y_row_stride = 0;  // elements
  cudaDataType_t w_type = CUDA_R_16BF, x_type = CUDA_R_16BF, y_type = CUDA_R_16BF;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;  // CUBLAS_COMPUTE_32I for int8
  Scaling w_scaling = Scaling::none, x_scaling = Scaling::none;
  // cuBLASLt's BIAS epilogue (y += bias[n], before the rounding to y_type), with a bias of this
  // type (y_type's, except for the fp8 and IMMA kernels, cublasLt.h).
  std::optional<cudaDataType_t> bias_type;
  // Split-K partial sums only reduced in the compute type (fp32): cuBLASLt's INPLACE and
  // OUTPUT_TYPE schemes would round each partial sum to a 16-bit y_type.
  bool split_k_in_fp32 = false;
  std::string describe() const;
};

struct Operands {
  const void* w = nullptr;
  const void* x = nullptr;
  void* y = nullptr;
  const float* w_scale = nullptr;
  const float* x_scale = nullptr;
  const void* bias = nullptr;  // with Problem::bias_type
  float alpha = 1.f;           // y = alpha · x · Wᵀ (floating-point compute only)
};

// Turns measuring the heuristic's candidates on or off for problems not yet cached (thread-safe).
void set_tuning(bool on);

// y = x · Wᵀ on `stream` (the problem's device must be current). Throws qlinear::Error when
// cuBLASLt has no algorithm for the problem or a call fails.
void matmul(const Problem& problem, const Operands& operands, cudaStream_t stream);

}  // namespace qlinear::cublaslt
