#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "gpu/check.hpp"
#include "gpu/epilogue.hpp"

namespace qlinear::cuda {
namespace {

using T = ScalarType;

__device__ float load(const void* base, T type, int64_t i) {
  switch (type) {
    case T::int32:
      return static_cast<float>(static_cast<const int32_t*>(base)[i]);
    case T::bf16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]);
    case T::fp16:
      return __half2float(static_cast<const __half*>(base)[i]);
    default:
      return static_cast<const float*>(base)[i];
  }
}

__device__ void store(void* base, T type, int64_t i, float v) {
  switch (type) {
    case T::bf16:
      static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(v);
      break;
    case T::fp16:
      static_cast<__half*>(base)[i] = __float2half_rn(v);
      break;
    default:
      static_cast<float*>(base)[i] = v;
      break;
  }
}

__global__ void epilogue(Epilogue e) {
  const int64_t count = e.rows * e.cols;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = i / e.cols, n = i % e.cols, a = m * e.acc_row_stride + n;
    float y;
    if (e.acc_type == T::int32) {
      // Integer correction first: (q - z)·w summed = acc - z·Σw, exact in 64 bits.
      int64_t sum = static_cast<const int32_t*>(e.acc)[a];
      if (e.row_zero) sum -= static_cast<int64_t>(e.row_zero[m * e.row_zero_stride]) * e.col_sum[n];
      y = static_cast<float>(sum);
    } else {
      y = load(e.acc, e.acc_type, a);
    }
    if (e.row_scale) y *= e.row_scale[m * e.row_scale_stride];
    if (e.col_scale) y *= e.col_scale[n * e.col_scale_stride];
    if (e.bias) y += load(e.bias, e.bias_type, n);
    store(e.out, e.out_type, i, y);
  }
}

__global__ void row_sums(const int8_t* w, int64_t rows, int64_t cols, int64_t row_stride,
                         int32_t* sums) {
  const int64_t row = blockIdx.x;
  int32_t sum = 0;
  for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) sum += w[row * row_stride + k];
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  __shared__ int32_t warp_sums[32];
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    int32_t total = 0;
    for (unsigned i = 0; i < blockDim.x / 32; ++i) total += warp_sums[i];
    sums[row] = total;
  }
}

}  // namespace

void run_epilogue(const Epilogue& e, void* stream) {
  const int64_t count = e.rows * e.cols;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((count + 255) / 256, 132 * 16));
  if (blocks == 0) return;
  epilogue<<<blocks, 256, 0, native(stream)>>>(e);
  check_launch("epilogue");
}

void add_bias_and_round(const void* acc, ScalarType acc_type, int64_t acc_row_stride,
                        const TensorView& bias, const TensorView& out, void* stream) {
  Epilogue e;
  e.acc = acc;
  e.acc_type = acc_type;
  e.rows = out.rows();
  e.cols = out.size(-1);
  e.acc_row_stride = acc_row_stride;
  if (bias.defined()) {
    e.bias = bias.data();
    e.bias_type = bias.dtype();
  }
  e.out = out.data();
  e.out_type = out.dtype();
  run_epilogue(e, stream);
}

void int8_row_sums(const void* w, int64_t rows, int64_t cols, int64_t row_stride, int32_t* sums,
                   void* stream) {
  if (rows == 0) return;
  row_sums<<<static_cast<unsigned>(rows), 256, 0, native(stream)>>>(static_cast<const int8_t*>(w),
                                                                    rows, cols, row_stride, sums);
  check_launch("int8_row_sums");
}

}  // namespace qlinear::cuda
