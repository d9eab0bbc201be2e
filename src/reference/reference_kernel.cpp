// The reference kernel of every family: weights dequantized once to float64 in process_weights;
// apply quantizes and dequantizes x as the family prescribes and takes the float64 product.
#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::reference {
namespace {

struct Prepared final : PreparedWeights {
  Prepared(LayerConfig config, std::vector<double> w_hat, Tensor input_scale, Tensor input_zero_point)
      : PreparedWeights(std::move(config)),
        w_hat(std::move(w_hat)),
        input_scale(std::move(input_scale)),
        input_zero_point(std::move(input_zero_point)) {}
  std::vector<double> w_hat;  // [N, K]
  Tensor input_scale;
  Tensor input_zero_point;
};

Tensor copy_if_defined(const TensorView& t) {
  return t.defined() ? Tensor::copy_of(t, Device::cpu()) : Tensor();
}

class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(Family family)
      : info_{cat("reference_", qlinear::name(family)), Provider::reference, family} {}

  const KernelInfo& info() const override { return info_; }

  Verdict supported(const Platform& platform) const override {
    if (platform.kind != PlatformKind::cpu)
      return Verdict::no("the reference runs on the CPU only (it is the oracle, not a GPU kernel)");
    return Verdict::yes();
  }

  // The reference implements every valid config of its family.
  Verdict can_implement(const LayerConfig&) const override { return Verdict::yes(); }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& config,
                                                         const LayerWeights& weights,
                                                         Device device) const override {
    require(device.is_cpu(), name(), ": weights must be on the CPU, not ", device.str());
    return std::make_shared<Prepared>(config, dequantize_weights(config, weights),
                                      copy_if_defined(weights.input_scale),
                                      copy_if_defined(weights.input_zero_point));
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream) const override {
    const auto& p = static_cast<const Prepared&>(prepared);
    const LayerConfig& c = p.config();
    LayerWeights static_scales;
    static_scales.input_scale = p.input_scale;
    static_scales.input_zero_point = p.input_zero_point;
    const std::vector<double> x_hat = activations_as_used(c, static_scales, x);
    const std::vector<double> y = linear_f64(x_hat, p.w_hat, x.rows(), c.part_n(), c.part_k(), bias);
    for (size_t i = 0; i < y.size(); ++i) store_value(out, static_cast<int64_t>(i), y[i]);
  }

  double tolerance(const LayerConfig& config) const override {
    return unit_roundoff(config.out_type) + 1e-12;  // float64 sums, one rounding to the output
  }

 private:
  KernelInfo info_;
};

}  // namespace

std::shared_ptr<const Kernel> make_kernel(Family family) {
  return std::make_shared<ReferenceKernel>(family);
}

}  // namespace qlinear::reference
