// The cuBLASLt weight layout and what goes with it, shared by the cublaslt kernels and the cuda
// provider's Hopper kernels (which run on the same codes) and dequantizing GEMMs: the weights
// padded to cuBLASLt's alignment, the output staging, the platform test, the fp8 error bound.
#pragma once

#include <cuda_runtime_api.h>
#include <library_types.h>

#include "qlinear/kernel.hpp"

namespace qlinear::cublaslt {

// fp8 and int8 tensor-core GEMMs read rows 16-byte aligned: K is padded with zero codes to this.
inline constexpr int64_t kAlignK = 16;
// cuBLASLt's outer-vector fp8 mode has no algorithm for N = 100 (seen on the H100, cuBLASLt 13.0)
// while N = 56 runs: the fp8 kernels pad N with zero rows to a multiple of this.
inline constexpr int64_t kAlignNFp8 = 16;

// The layer's weights in a cublaslt kernel's layout, on its device.
struct PaddedWeights final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  Device device;
  int64_t n_padded = 0, k_padded = 0;
  Tensor weight;        // [n_padded, k_padded] codes, zero beyond N and K
  Tensor weight_scale;  // the kernel's scale layout (see each kernel)
  Tensor col_sum;       // int8 with activation zero points: Σ_k w[n, k]
  Tensor input_scale, input_zero_point;
};

// The common part of process_weights: codes padded to kAlignK along K and to `align_n` rows, static
// activation tensors copied. The kernel fills weight_scale (and col_sum).
std::shared_ptr<PaddedWeights> pad_weights(const LayerConfig& config, const LayerWeights& weights,
                                           Device device, int64_t align_n);

// cuBLASLt's type of a qlinear scalar type (bf16, fp16, fp32, int32, int8, float8_e4m3fn).
cudaDataType_t cuda_type(ScalarType type);

// Hopper (sm_90): the only architecture where cuBLASLt has both the outer-vector and the
// 128-block fp8 scale modes (Ada has tensor-wide scales only, Blackwell other block formats).
Verdict hopper_only(const Platform& platform);

// Where cuBLASLt writes y[gemm_rows, gemm_cols]: the caller's `out` when that is its shape and its
// rows are 16-byte aligned, else a scratch buffer whose first M rows and N columns are copied into
// `out` by finish(), which also adds the bias (qlinear's epilogue, in place).
class GemmOutput {
 public:
  GemmOutput(const TensorView& out, int64_t gemm_rows, int64_t gemm_cols, cudaStream_t stream);
  ~GemmOutput();
  GemmOutput(const GemmOutput&) = delete;
  GemmOutput& operator=(const GemmOutput&) = delete;
  void* data() const { return data_; }
  int64_t row_stride() const { return row_stride_; }
  void finish(const TensorView& bias);

 private:
  TensorView out_;
  cudaStream_t stream_;
  void* scratch_ = nullptr;
  void* data_ = nullptr;
  int64_t row_stride_ = 0;
};

// The error bound of an fp8 GEMM on Hopper's tensor cores, cuBLASLt's and qlinear's own (both
// promote the tensor cores' partial sums to fp32 every 128-wide K slice).
double fp8_tensor_core_tolerance(const LayerConfig& config);

}  // namespace qlinear::cublaslt
