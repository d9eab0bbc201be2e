#include "gpu/cublaslt_layout.hpp"

#include <cmath>

#include "gpu/check.hpp"
#include "gpu/epilogue.hpp"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cublaslt {

using cuda::check_cuda;

std::shared_ptr<PaddedWeights> pad_weights(const LayerConfig& c, const LayerWeights& w,
                                           Device device, int64_t align_n) {
  require(device.is_cuda(), "cublaslt kernels take weights on a CUDA device, not ", device.str());
  cuda::DeviceGuard guard(device.index);
  auto p = std::make_shared<PaddedWeights>(c);
  p->device = device;
  const int64_t n = c.part_n(), k = c.part_k();
  p->n_padded = cuda::round_up(n, align_n);
  p->k_padded = cuda::round_up(k, kAlignK);
  p->weight = Tensor::empty(c.weight_type, {p->n_padded, p->k_padded}, device);
  const size_t element = info(c.weight_type).bits / 8;
  check_cuda(cudaMemset(p->weight.data(), 0, static_cast<size_t>(p->weight.nbytes())),
             "cudaMemset");
  check_cuda(cudaMemcpy2D(p->weight.data(), p->k_padded * element, w.weight.data(), k * element,
                          k * element, static_cast<size_t>(n), cudaMemcpyDeviceToDevice),
             "cudaMemcpy2D");
  if (w.input_scale.defined()) p->input_scale = Tensor::copy_of(w.input_scale, device);
  if (w.input_zero_point.defined())
    p->input_zero_point = Tensor::copy_of(w.input_zero_point, device);
  return p;
}

cudaDataType_t cuda_type(ScalarType type) {
  switch (type) {
    case ScalarType::bf16:
      return CUDA_R_16BF;
    case ScalarType::fp16:
      return CUDA_R_16F;
    case ScalarType::fp32:
      return CUDA_R_32F;
    case ScalarType::int32:
      return CUDA_R_32I;
    case ScalarType::int8:
      return CUDA_R_8I;
    case ScalarType::float8_e4m3fn:
      return CUDA_R_8F_E4M3;
    default:
      throw Error(cat("cuBLASLt has no type for ", name(type)));
  }
}

Verdict hopper_only(const Platform& platform) {
  if (platform.kind != PlatformKind::cuda) return Verdict::no("needs a CUDA device");
  if (platform.compute_capability != 90)
    return Verdict::no(cat(
        "cuBLASLt's outer-vector and 128-block fp8 scaling are Hopper modes (sm_90); this is sm_",
        platform.compute_capability));
  return Verdict::yes();
}

GemmOutput::GemmOutput(const TensorView& out, int64_t gemm_rows, int64_t gemm_cols,
                       cudaStream_t stream)
    : out_(out), stream_(stream) {
  const int64_t rows = out.rows(), cols = out.size(-1);
  const int64_t element = info(out.dtype()).bits / 8;
  if (gemm_rows == rows && gemm_cols == cols && (cols * element) % 16 == 0) {
    data_ = out.data();
    row_stride_ = cols;
    return;
  }
  row_stride_ = cuda::round_up(gemm_cols, 16 / element);
  cuda::keep_pool_memory(out.device().index);
  check_cuda(
      cudaMallocAsync(&scratch_, static_cast<size_t>(gemm_rows * row_stride_ * element), stream),
      "cudaMallocAsync");
  data_ = scratch_;
}

GemmOutput::~GemmOutput() {
  if (scratch_) cudaFreeAsync(scratch_, stream_);
}

void GemmOutput::finish(const TensorView& bias) {
  const int64_t rows = out_.rows(), cols = out_.size(-1);
  const int64_t element = info(out_.dtype()).bits / 8;
  if (scratch_)
    check_cuda(cudaMemcpy2DAsync(out_.data(), cols * element, scratch_, row_stride_ * element,
                                 cols * element, static_cast<size_t>(rows),
                                 cudaMemcpyDeviceToDevice, stream_),
               "cudaMemcpy2DAsync");
  if (bias.defined())
    cuda::add_bias_and_round(out_.data(), out_.dtype(), cols, bias, out_, stream_);
}

double fp8_tensor_core_tolerance(const LayerConfig& c) {
  // Hopper's fp8 MMA adds products into an accumulator that keeps about 14 significant bits
  // (the figure DeepSeek-V3's report gives for H800) before cuBLASLt, fast accumulation off,
  // promotes the partial sum to fp32: each promoted chunk carries a relative error near 2^-13 of
  // its absolute sum, allowed twice that here (a lead, not a proof: on the H100 the conformance
  // cases stay below a third of the whole bound). Then the fp32 part (K·u32), the rounding to the
  // output type, and a second one when qlinear's epilogue adds the bias to the rounded output.
  const double out = unit_roundoff(c.out_type);
  return std::ldexp(1.0, -12) + static_cast<double>(c.part_k()) * unit_roundoff(ScalarType::fp32) +
         out + (c.bias ? out : 0.0);
}

}  // namespace qlinear::cublaslt
