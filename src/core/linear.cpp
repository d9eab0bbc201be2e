// Input checking shared by every kernel, and the QuantizedLinear layer.
#include "qlinear/linear.hpp"

#include <cmath>
#include <cstdint>

#include "core/code_words.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

std::string shape_text(std::span<const int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += cat(i ? ", " : "", shape[i]);
  return text + "]";
}

void expect_on(const TensorView& t, std::string_view role, Device device) {
  QLINEAR_CHECK(t.device() == device, role, " is on ", t.device().str(), "; expected ",
                device.str());
  QLINEAR_CHECK(t.is_contiguous(), role, " ", t.describe(), " must be contiguous (row-major)");
  const auto address = reinterpret_cast<uintptr_t>(t.data());
  const int64_t element = std::max(1, info(t.dtype()).bits / 8);
  QLINEAR_CHECK(address % element == 0, role, " ", t.describe(), " is not aligned to its ", element,
                "-byte elements");
}

void expect(const TensorView& t, std::string_view role, ScalarType dtype,
            std::span<const int64_t> shape, Device device) {
  require(t.defined(), role, " is missing; expected ", name(dtype), shape_text(shape));
  require(t.dtype() == dtype, role, " has dtype ", name(t.dtype()), "; expected ", name(dtype));
  require(std::equal(shape.begin(), shape.end(), t.shape().begin(), t.shape().end()), role,
          " has shape ", shape_text(t.shape()), "; expected ", shape_text(shape));
  expect_on(t, role, device);
}

void expect_absent(const TensorView& t, std::string_view role, std::string_view why) {
  QLINEAR_CHECK(!t.defined(), role, " ", t.describe(), " was given, but ", why);
}

// The weights as `kernel` prepares them: codes in words only for a kernel that takes them, else
// their canonical copy, kept in `canonical` while the kernel prepares.
LayerWeights weights_for(const Kernel& kernel, const LayerWeights& weights, Tensor& canonical) {
  const auto words = detail::code_words(weights.weight);
  if (!words || kernel.takes_code_words()) return weights;
  canonical = detail::canonical_codes(*words, weights.weight.dtype());
  LayerWeights w = weights;
  w.weight = canonical;
  return w;
}

}  // namespace

void validate_weights(const LayerConfig& c, const LayerWeights& w, Device device) {
  const int64_t pn = c.part_n(), pk = c.part_k();
  const auto scale_shape = c.weight_scale_shape();
  if (const auto words = detail::code_words(w.weight)) {  // GPTQ's words (core/code_words.hpp)
    require(w.weight.dtype() == c.weight_type, "weight has dtype ", name(w.weight.dtype()),
            "; expected ", name(c.weight_type));
    require(words->n == pn && words->k == pk, "weight holds ", words->n, " x ", words->k,
            " codes in words; expected ", pn, " x ", pk);
    QLINEAR_CHECK(device.is_cpu(), "weight in words is on the CPU; expected ", device.str());
  } else {
    expect(w.weight, "weight", c.weight_type, std::array{pn, pk}, device);
  }
  expect(w.weight_scale, "weight_scale", c.weight_scale_type, scale_shape, device);

  if (c.zero_points) {
    expect(w.weight_zero_point, "weight_zero_point", ScalarType::uint8, scale_shape, device);
    if (device.is_cpu()) {
      const auto max_code = static_cast<uint32_t>(info(c.weight_type).max_finite);
      for (int64_t i = 0; i < w.weight_zero_point.numel(); ++i)
        require(load_code(w.weight_zero_point, i) <= max_code, "weight_zero_point[", i, "] is ",
                load_code(w.weight_zero_point, i), "; ", name(c.weight_type), " codes end at ",
                max_code);
    }
  } else {
    expect_absent(w.weight_zero_point, "weight_zero_point", "the config has no zero points");
  }

  if (c.has_global_scale()) {
    expect(w.weight_global_scale, "weight_global_scale", ScalarType::fp32,
           std::array<int64_t, 1>{1}, device);
  } else {
    expect_absent(w.weight_global_scale, "weight_global_scale",
                  cat(name(c.family), " has no global scale"));
  }

  if (c.act_order) {
    expect(w.g_idx, "g_idx", ScalarType::int32, std::array{pk}, device);
    if (device.is_cpu()) {
      const int64_t groups = c.weight_groups_k();
      const auto* g = w.g_idx.data_as<const int32_t>();
      for (int64_t i = 0; i < pk; ++i)
        require(g[i] >= 0 && g[i] < groups, "g_idx[", i, "] is ", g[i],
                "; expected a group in [0, ", groups, ")");
    }
  } else {
    expect_absent(w.g_idx, "g_idx", "the config has act_order = false");
  }

  if (c.has_static_input_scale()) {
    expect(w.input_scale, "input_scale", ScalarType::fp32, std::array<int64_t, 1>{1}, device);
    if (device.is_cpu()) {
      const float s = *w.input_scale.data_as<const float>();
      require(std::isfinite(s) && s > 0, "input_scale is ", s,
              "; expected a positive finite scale");
    }
  } else {
    expect_absent(w.input_scale, "input_scale", "the config's activation scales are not static");
  }
  if (c.act_scale_static && c.act_zero_points) {
    expect(w.input_zero_point, "input_zero_point", ScalarType::int32, std::array<int64_t, 1>{1},
           device);
  } else {
    expect_absent(w.input_zero_point, "input_zero_point",
                  "the config has no static activation zero point");
  }
}

void validate_call(const LayerConfig& c, const TensorView& x, const TensorView& bias,
                   const TensorView& out, Device device) {
  QLINEAR_CHECK(x.defined() && x.ndim() >= 1, "x is missing; expected ", name(c.act_type), "[..., ",
                c.part_k(), "]");
  QLINEAR_CHECK(x.dtype() == c.act_type, "x has dtype ", name(x.dtype()), "; the layer takes ",
                name(c.act_type));
  QLINEAR_CHECK(x.size(-1) == c.part_k(), "x has shape ", shape_text(x.shape()),
                "; expected [..., ", c.part_k(), "] (K of the layer)");
  expect_on(x, "x", device);

  QLINEAR_CHECK(out.defined() && out.ndim() == x.ndim(),
                "out must have x's leading shape and N; got ",
                out.defined() ? out.describe() : "nothing");
  QLINEAR_CHECK(out.dtype() == c.out_type, "out has dtype ", name(out.dtype()),
                "; the layer writes ", name(c.out_type));
  for (int d = 0; d + 1 < x.ndim(); ++d)
    QLINEAR_CHECK(out.size(d) == x.size(d), "out has shape ", shape_text(out.shape()),
                  "; expected x's leading shape with N = ", c.part_n());
  QLINEAR_CHECK(out.size(-1) == c.part_n(), "out has shape ", shape_text(out.shape()),
                "; expected [..., ", c.part_n(), "] (N of the layer)");
  expect_on(out, "out", device);

  if (c.bias) {
    QLINEAR_CHECK(bias.defined(), "bias is missing; the config has bias = true");
    QLINEAR_CHECK(bias.dtype() == ScalarType::fp32 || bias.dtype() == ScalarType::bf16 ||
                      bias.dtype() == ScalarType::fp16,
                  "bias has dtype ", name(bias.dtype()), "; expected fp32, bf16 or fp16");
    QLINEAR_CHECK(bias.ndim() == 1 && bias.size(0) == c.part_n(), "bias has shape ",
                  shape_text(bias.shape()), "; expected [", c.part_n(), "]");
    expect_on(bias, "bias", device);
  } else {
    expect_absent(bias, "bias", "the config has bias = false");
  }
}

QuantizedLinear::QuantizedLinear(const LayerConfig& config, const LayerWeights& weights,
                                 Device device, const ChooseOptions& options,
                                 const Registry& registry)
    : device_(device) {
  validate(config);
  validate_weights(config, weights, device);
  choice_ = registry.choose(config, platform_of(device), options);
  kernel_ = choice_.kernel;
  Tensor canonical;
  prepared_ = kernel_->process_weights(config, weights_for(*kernel_, weights, canonical), device);
}

QuantizedLinear::QuantizedLinear(const LayerConfig& config, const LayerWeights& weights,
                                 const Kernel& kernel, Device device)
    : kernel_(&kernel), device_(device) {
  validate(config);
  validate_weights(config, weights, device);
  const Platform& platform = platform_of(device);
  if (Verdict v = kernel.supported(platform); !v)
    throw Error(
        cat("kernel ", kernel.name(), " does not run on ", platform.str(), ": ", v.reason()));
  require(kernel.family() == config.family, "kernel ", kernel.name(), " implements ",
          name(kernel.family()), ", not ", name(config.family));
  if (Verdict v = kernel.can_implement(config); !v)
    throw Error(cat("kernel ", kernel.name(), " cannot run ", config.describe(), ": ", v.reason()));
  choice_.kernel = &kernel;
  choice_.platform = platform.str();
  Tensor canonical;
  prepared_ = kernel.process_weights(config, weights_for(kernel, weights, canonical), device);
}

void QuantizedLinear::forward_into(const TensorView& x, const TensorView& out,
                                   const TensorView& bias, Stream stream) const {
  validate_call(config(), x, bias, out, device_);
  if (x.numel() == 0) return;
  kernel_->apply(*prepared_, x, bias, out, stream);
}

Tensor QuantizedLinear::forward(const TensorView& x, const TensorView& bias, Stream stream) const {
  require(x.defined() && x.ndim() >= 1, "x is missing");
  std::vector<int64_t> shape(x.shape().begin(), x.shape().end());
  shape.back() = config().part_n();
  Tensor out = Tensor::empty(config().out_type, shape, device_);
  forward_into(x, out, bias, stream);
  return out;
}

}  // namespace qlinear
