// int8 W8A8 with a static activation scale through one oneDNN int8 matmul whose output scales
// are fixed at creation: oneDNN 2.6's brgemm path (at the VNNI dot-product peak for M >= 64 on
// this CPU), scales and bias applied inside it. bf16 or fp32 output.
//
//   x [M, K] --quantize with input_scale (and input_zero_point)--> q [M, K] s8
//   out = oscale[n] · (q · Wᵀ + b[n])   (oneDNN 2.6 adds the bias before the scale)
//   oscale[n] = input_scale · s_w[n];   b[n] = bias[n] / oscale[n] - z · colsum[n]
//
// NOTES: the static zero point z is folded into the bias through the weight column sums, so
// azp costs nothing per call; b is rebuilt per call (O(N)) because the bias is a call argument.
#include <cmath>

#include "onednn/int8_common.hpp"
#include "onednn/matmul.hpp"
#include "qlinear/error.hpp"

namespace qlinear::onednn {
namespace {

std::vector<float> output_scales(const LayerConfig& config, const LayerWeights& weights) {
  const float input_scale = *weights.input_scale.data_as<const float>();
  std::vector<float> scales = weight_scales_per_n(config, weights);
  for (size_t j = 0; j < scales.size(); ++j) {
    // The bias is divided by the scale to enter the accumulator domain.
    require(std::isfinite(scales[j]) && scales[j] > 0,
            "onednn_int8_const_scales: weight_scale of row ", j, " is ", scales[j],
            "; expected a positive finite scale");
    scales[j] *= input_scale;
  }
  return scales;
}

MatmulSpec spec_of(const LayerConfig& config, const LayerWeights& weights) {
  MatmulSpec spec;
  spec.dst = config.out_type == ScalarType::bf16 ? dt::bf16 : dt::f32;
  spec.n = config.part_n();
  spec.k = config.part_k();
  spec.constant_scales = output_scales(config, weights);
  spec.bias = config.bias || config.act_zero_points;
  return spec;
}

struct Prepared final : PreparedWeights {
  Prepared(const LayerConfig& config, const LayerWeights& weights)
      : PreparedWeights(config), matmul(spec_of(config, weights), weights.weight.data()) {
    scheme.is_static = true;
    scheme.static_scale = *weights.input_scale.data_as<const float>();
    if (config.act_zero_points) {
      scheme.zero_points = true;
      scheme.static_zero = *weights.input_zero_point.data_as<const int32_t>();
      const std::vector<int32_t> sums = column_sums(weights);
      zero_term.resize(sums.size());
      for (size_t j = 0; j < sums.size(); ++j)
        zero_term[j] = -static_cast<float>(static_cast<int64_t>(scheme.static_zero) * sums[j]);
    }
  }
  PackedMatmul matmul;
  Int8ActivationScheme scheme;
  std::vector<float> zero_term;  // -z · colsum[n], with zero points only
};

class OnednnInt8ConstScales final : public Int8Kernel<Prepared> {
 public:
  OnednnInt8ConstScales() : Int8Kernel("onednn_int8_const_scales") {}

  Verdict can_implement(const LayerConfig& config) const override {
    if (!config.act_scale_static)
      return Verdict::no(
          "activation scales are dynamic; oneDNN 2.6 keeps its fast int8 path only "
          "with scales fixed at creation (onednn_int8_s32_epilogue takes these)");
    if (config.out_type != ScalarType::bf16 && config.out_type != ScalarType::fp32)
      return Verdict::no(cat("out_type ", qlinear::name(config.out_type),
                             " not supported; supported: bf16, fp32 (oneDNN 2.6 has no f16 matmul "
                             "output on CPUs without AVX512-FP16)"));
    return int8_fits_int32(config);
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream) const override {
    const auto& p = static_cast<const Prepared&>(prepared);
    const int64_t m = x.rows(), n = p.config().part_n(), k = p.config().part_k();
    auto* codes = static_cast<int8_t*>(thread_buffer(0, m * k));
    float scale = 0;
    int32_t zero = 0;
    // s8 codes: u8 ones would put -128 · colsum[n] into the f32 bias, where it cancels against
    // the accumulator in f32 instead of exactly in int32 (as the s32 epilogue kernel does).
    quantize_int8(p.scheme, x, /*as_u8=*/false, codes, &scale, &zero);

    float* b = nullptr;
    if (p.matmul.spec().bias) {
      b = static_cast<float*>(thread_buffer(1, n * 4));
      if (bias.defined()) {
        bias_to_f32(bias, b);
        const std::vector<float>& oscale = p.matmul.spec().constant_scales;
        for (int64_t j = 0; j < n; ++j) b[j] /= oscale[j];
      } else {
        std::fill(b, b + n, 0.f);
      }
      if (!p.zero_term.empty())
        for (int64_t j = 0; j < n; ++j) b[j] += p.zero_term[j];
    }
    p.matmul.run(m, codes, out.data(), b);
  }

  // fp32 accumulation plus the bias's round trip through the accumulator domain (divided by the
  // output scale, added, multiplied back): a few more fp32 roundings than the default allows for.
  double tolerance(const LayerConfig& config) const override {
    return Kernel::tolerance(config) + 4 * unit_roundoff(ScalarType::fp32);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_int8_const_scales() {
  return std::make_shared<OnednnInt8ConstScales>();
}

}  // namespace qlinear::onednn
