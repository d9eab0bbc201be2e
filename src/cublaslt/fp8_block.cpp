// DeepSeek-style fp8 through cuBLASLt's Hopper block scaling: 128x128 weight blocks
// (BLK128x128_32F) times 1x128 activation groups (VEC128_32F). The layouts cuBLASLt reads:
//   weight scales  [ceil(N/128), L4] row-major, L4 = ceil(K/128) rounded up to a multiple of 4
//                  (the K blocks of one N block contiguous, then padding);
//   token scales   [ceil(K/128), M_pad] with M contiguous (M-major), written so by the quantizer.
// cuBLASLt refuses M = 1 (and other small, unaligned M) for these modes, so M is padded with zero
// rows to a multiple of 16; padded rows carry zero scales and are never copied out.
#include "cublaslt/kernels.hpp"
#include "gpu/act_quant.hpp"
#include "gpu/check.hpp"
#include "gpu/cublaslt_layout.hpp"
#include "gpu/cublaslt_matmul.hpp"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cublaslt {
namespace {

constexpr int64_t kBlock = 128;
constexpr int64_t kAlignM = 16;

class Fp8Block final : public Kernel {
 public:
  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& platform) const override { return hopper_only(platform); }

  Verdict can_implement(const LayerConfig& c) const override {
    if (c.block_n != kBlock || c.group_size != kBlock)
      return Verdict::no(cat("weight blocks of ", c.block_n, "x", c.group_size,
                             "; cuBLASLt's block scaling takes 128x128 only"));
    return Verdict::yes();
  }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device device) const override {
    auto p = pad_weights(c, w, device, kAlignNFp8);
    const auto [rows, cols] = c.weight_scale_shape();
    const int64_t padded_cols = cuda::round_up(cols, 4);
    const Tensor host = Tensor::copy_of(w.weight_scale, Device::cpu());
    const Tensor padded = Tensor::empty(ScalarType::fp32, {rows, padded_cols});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < padded_cols; ++g)
        padded.data_as<float>()[r * padded_cols + g] =
            g < cols ? host.data_as<const float>()[r * cols + g] : 0.f;
    p->weight_scale = Tensor::copy_of(padded, device);
    return p;
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream_handle) const override {
    const auto& p = static_cast<const PaddedWeights&>(prepared);
    const LayerConfig& c = p.config();
    cuda::DeviceGuard guard(p.device.index);
    const cudaStream_t stream = cuda::native(stream_handle.handle);
    const int64_t m = x.rows(), m_padded = cuda::round_up(m, kAlignM), kp = p.k_padded;
    const int64_t groups = (c.part_k() + kBlock - 1) / kBlock;

    cuda::Scratch codes(m_padded * kp, stream, p.device.index);
    cuda::Scratch scales(groups * m_padded * static_cast<int64_t>(sizeof(float)), stream,
                         p.device.index);
    if (kp != c.part_k() || m_padded != m)
      cuda::check_cuda(cudaMemsetAsync(codes.get(), 0, m_padded * kp, stream), "cudaMemsetAsync");
    if (m_padded != m)
      cuda::check_cuda(cudaMemsetAsync(scales.get(), 0, groups * m_padded * sizeof(float), stream),
                       "cudaMemsetAsync");
    cuda::ActQuantTarget target;
    target.codes = codes.get();
    target.codes_row_stride = kp;
    target.scales = scales.get();
    target.scale_row_stride = 1;
    target.scale_group_stride = m_padded;
    cuda::quantize_activations(c, x, p.input_scale, p.input_zero_point, target, stream);

    GemmOutput y(out, m_padded, p.n_padded, stream);
    Problem problem;
    problem.device = p.device.index;
    problem.m = m_padded;
    problem.n = p.n_padded;
    problem.k = kp;
    problem.w_row_stride = problem.x_row_stride = kp;
    problem.y_row_stride = y.row_stride();
    problem.w_type = problem.x_type = CUDA_R_8F_E4M3;
    problem.y_type = cuda_type(c.out_type);
    problem.w_scaling = Scaling::block128x128;
    problem.x_scaling = Scaling::vec128;
    matmul(problem,
           {p.weight.data(), codes.get(), y.data(), p.weight_scale.data_as<const float>(),
            scales.get<const float>()},
           stream);
    y.finish(bias);
  }

  double tolerance(const LayerConfig& c) const override { return fp8_tensor_core_tolerance(c); }

 private:
  KernelInfo info_{"cublaslt_fp8_block", Provider::cublaslt, Family::fp8_block};
};

}  // namespace

std::shared_ptr<const Kernel> make_fp8_block() { return std::make_shared<Fp8Block>(); }

}  // namespace qlinear::cublaslt
