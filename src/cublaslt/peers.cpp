#include "cublaslt/peers.hpp"

#include "gpu/check.hpp"
#include "gpu/cublaslt_matmul.hpp"
#include "gpu/fill.hpp"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cublaslt {
namespace {

enum class Kind { block128, rowwise, tensorwise, int8, bf16 };

struct Spec {
  std::string name;
  Kind kind;
  ScalarType operand;  // what x and W hold
  ScalarType output;
  Scaling w_scaling, x_scaling;
};

int64_t element_bytes(ScalarType t) { return info(t).bits / 8; }

class GemmCase final : public bench::PeerCase {
 public:
  GemmCase(const Spec& spec, const LayerConfig& config, int copies, Device device)
      : spec_(spec), device_(device), n_(config.part_n()), k_(config.part_k()) {
    cuda::DeviceGuard guard(device.index);
    for (int i = 0; i < copies; ++i) {
      weights_.push_back(Tensor::empty(spec.operand, {n_, k_}, device));
      cuda::fill_random(weights_.back(), 100 + i);
    }
    // [N] channel scales, or [ceil(N/128), ceil(K/128) rounded up to 4] block scales.
    const int64_t scales =
        spec.kind == Kind::block128 ? (n_ + 127) / 128 * cuda::round_up((k_ + 127) / 128, 4) : n_;
    w_scale_ = Tensor::empty(ScalarType::fp32, {scales}, device);
    cuda::fill_random(w_scale_, 7, true);
    cuda::check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }

  void prepare_m(int64_t m) override {
    cuda::DeviceGuard guard(device_.index);
    m_ = m;
    rows_ = spec_.kind == Kind::block128 ? cuda::round_up(m, 16) : m;
    x_ = Tensor::empty(spec_.operand, {rows_, k_}, device_);
    cuda::fill_random(x_, 3);
    x_scale_ = Tensor::empty(ScalarType::fp32, {rows_ * ((k_ + 127) / 128)}, device_);
    cuda::fill_random(x_scale_, 8, true);
    y_ = Tensor::empty(spec_.output, {rows_, n_}, device_);
    cuda::check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }

  void run(int copy, Stream stream) override {
    Problem p;
    p.device = device_.index;
    p.m = rows_, p.n = n_, p.k = k_;
    p.w_row_stride = p.x_row_stride = k_;
    p.y_row_stride = n_;
    p.w_type = p.x_type = cuda_type(spec_.operand);
    p.y_type = cuda_type(spec_.output);
    p.compute = spec_.kind == Kind::int8 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F;
    p.w_scaling = spec_.w_scaling, p.x_scaling = spec_.x_scaling;
    matmul(p,
           {weights_[static_cast<size_t>(copy)].data(), x_.data(), y_.data(),
            w_scale_.data_as<const float>(), x_scale_.data_as<const float>()},
           cuda::native(stream.handle));
  }

  int64_t bytes(int64_t m) const override {
    return element_bytes(spec_.operand) * (n_ * k_ + m * k_) + element_bytes(spec_.output) * m * n_;
  }
  std::string implementation(int64_t) const override { return "cublasLt heuristic"; }

 private:
  static cudaDataType_t cuda_type(ScalarType t) {
    switch (t) {
      case ScalarType::bf16:
        return CUDA_R_16BF;
      case ScalarType::int8:
        return CUDA_R_8I;
      case ScalarType::int32:
        return CUDA_R_32I;
      default:
        return CUDA_R_8F_E4M3;
    }
  }

  Spec spec_;
  Device device_;
  int64_t n_, k_, m_ = 0, rows_ = 0;
  std::vector<Tensor> weights_;
  Tensor w_scale_, x_, x_scale_, y_;
};

class GemmPeer final : public bench::Peer {
 public:
  explicit GemmPeer(Spec spec) : spec_(std::move(spec)) {}
  const std::string& name() const override { return spec_.name; }
  ScalarType multiply_type() const override { return spec_.operand; }

  Verdict applies(const LayerConfig& c, const Platform& platform) const override {
    if (platform.kind != PlatformKind::cuda)
      return Verdict::no("cuBLASLt peers run on CUDA devices");
    const bool hopper = platform.compute_capability == 90;
    const bool per_tensor =
        c.weight_scale == Granularity::per_tensor && c.act_scale == Granularity::per_tensor;
    switch (spec_.kind) {
      case Kind::block128:
        if (c.family != Family::fp8_block) return Verdict::no("stands in for fp8_block only");
        return hopper ? Verdict::yes()
                      : Verdict::no("cuBLASLt's 128-block fp8 scaling is a Hopper mode");
      case Kind::rowwise:
        if ((c.family != Family::fp8_scaled_mm && c.family != Family::w4a8_fp8) || per_tensor)
          return Verdict::no(
              "stands in for fp8_scaled_mm with per-channel or per-token scales, and w4a8_fp8");
        return hopper ? Verdict::yes()
                      : Verdict::no("cuBLASLt's outer-vector fp8 scaling is a Hopper mode");
      case Kind::tensorwise:
        if (c.family != Family::fp8_scaled_mm && c.family != Family::mxfp8)
          return Verdict::no("stands in for fp8_scaled_mm and mxfp8 only");
        return platform.compute_capability >= 89 ? Verdict::yes()
                                                 : Verdict::no("fp8 tensor cores need sm_89+");
      case Kind::int8:
        if (c.family != Family::int8_scaled_mm && c.family != Family::w4a8_int)
          return Verdict::no("stands in for int8_scaled_mm and w4a8_int only");
        return Verdict::yes();
      case Kind::bf16:
        return Verdict::yes();
    }
    return Verdict::yes();
  }
  int64_t weight_bytes(const LayerConfig& c) const override {
    return element_bytes(spec_.operand) * c.part_n() * c.part_k();
  }
  std::unique_ptr<bench::PeerCase> prepare(const LayerConfig& c, int copies,
                                           Device device) const override {
    require(device.is_cuda(), spec_.name, ": runs on CUDA devices, not ", device.str());
    return std::make_unique<GemmCase>(spec_, c, copies, device);
  }

 private:
  Spec spec_;
};

using T = ScalarType;

}  // namespace

std::shared_ptr<const bench::Peer> make_fp8_block128_peer() {
  return std::make_shared<GemmPeer>(Spec{"cublaslt_fp8_block128", Kind::block128, T::float8_e4m3fn,
                                         T::bf16, Scaling::block128x128, Scaling::vec128});
}
std::shared_ptr<const bench::Peer> make_fp8_rowwise_peer() {
  return std::make_shared<GemmPeer>(Spec{"cublaslt_fp8_rowwise", Kind::rowwise, T::float8_e4m3fn,
                                         T::bf16, Scaling::outer_vector, Scaling::outer_vector});
}
std::shared_ptr<const bench::Peer> make_fp8_tensorwise_peer() {
  return std::make_shared<GemmPeer>(Spec{"cublaslt_fp8_tensorwise", Kind::tensorwise,
                                         T::float8_e4m3fn, T::bf16, Scaling::scalar,
                                         Scaling::scalar});
}
std::shared_ptr<const bench::Peer> make_int8_peer() {
  return std::make_shared<GemmPeer>(
      Spec{"cublaslt_int8", Kind::int8, T::int8, T::int32, Scaling::none, Scaling::none});
}
std::shared_ptr<const bench::Peer> make_bf16_dense_peer() {
  return std::make_shared<GemmPeer>(
      Spec{"cublaslt_bf16", Kind::bf16, T::bf16, T::bf16, Scaling::none, Scaling::none});
}

}  // namespace qlinear::cublaslt
