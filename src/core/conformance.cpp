// Any kernel against the reference on fresh random data.
#include <cmath>
#include <limits>

#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/reference.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
using G = Granularity;

void poison(const Tensor& out) {
  const Tensor host = Tensor::empty(out.dtype(), out.shape());
  for (int64_t i = 0; i < host.numel(); ++i) store_code(host, i, encode(out.dtype(), std::nan("")));
  copy_bytes(out, host);
}

}  // namespace

ConformanceResult run_against_reference(const Kernel& kernel, const ConformanceCase& cc, Device device) {
  const LayerConfig& c = cc.config;
  const RandomLayer layer = make_random_layer(c, cc.seed);
  const int64_t m = cc.m, n = c.part_n(), k = c.part_k();
  const Tensor x = random_activations(c.act_type, std::array{m, k}, cc.seed + 1);
  Tensor bias;
  if (c.bias) bias = random_activations(cc.bias_type, std::array{n}, cc.seed + 2);

  // The oracle, straight from its building blocks.
  const LayerWeights host_weights = layer.weights();
  const std::vector<double> w_hat = reference::dequantize_weights(c, host_weights);
  const std::vector<double> x_hat = reference::activations_as_used(c, host_weights, x);
  const std::vector<double> expected = reference::linear_f64(x_hat, w_hat, m, n, k, bias);
  const std::vector<double> magnitude = reference::magnitude_f64(x_hat, w_hat, m, n, k, bias);

  // The kernel under test, on its device.
  const LayerTensors on_device = layer.to(device);
  const QuantizedLinear linear(c, on_device.weights(), kernel, device);
  const Tensor x_dev = Tensor::copy_of(x, device);
  const Tensor bias_dev = c.bias ? Tensor::copy_of(bias, device) : Tensor();
  const Tensor out_dev = Tensor::empty(c.out_type, {m, n}, device);
  poison(out_dev);
  linear.forward_into(x_dev, out_dev, bias_dev);
  const Tensor out = Tensor::copy_of(out_dev, Device::cpu());

  ConformanceResult result;
  result.tolerance = kernel.tolerance(c);
  int64_t worst = -1;
  for (int64_t i = 0; i < m * n; ++i) {
    const double got = load_value(out, i), want = expected[i];
    const double error = std::isnan(got) ? std::numeric_limits<double>::infinity()
                                         : std::fabs(got - want) / std::max(magnitude[i], 1e-300);
    if (worst < 0 || error > result.max_error) {
      result.max_error = error;
      worst = i;
    }
  }
  result.pass = result.max_error <= result.tolerance;
  if (worst >= 0)
    result.detail = cat("worst at [", worst / n, ", ", worst % n, "]: got ", load_value(out, worst),
                        ", reference ", expected[worst], ", terms ", magnitude[worst]);
  return result;
}

std::vector<int64_t> conformance_m_values() { return {1, 7, 67}; }

std::vector<LayerConfig> conformance_configs(Family family) {
  std::vector<LayerConfig> configs;
  const auto add = [&](int64_t n, int64_t k, auto&& adjust) {
    LayerConfig c = default_config(family, n, k);
    adjust(c);
    validate(c);
    configs.push_back(c);
  };
  const auto keep = [](LayerConfig&) {};
  switch (family) {
    case Family::mixed_precision:
      add(200, 384, keep);
      add(136, 320, [](LayerConfig& c) {
        c.weight_type = T::uint4, c.zero_points = true, c.group_size = 64;
        c.act_type = c.out_type = c.weight_scale_type = T::fp16, c.bias = true;
      });
      add(72, 640, [](LayerConfig& c) { c.act_order = true; });
      add(100, 200, [](LayerConfig& c) {
        c.weight_type = T::uint8b128, c.weight_scale = G::per_channel, c.group_size = 0;
      });
      add(40, 96, [](LayerConfig& c) { c.weight_type = T::uint8, c.zero_points = true, c.group_size = 32; });
      add(33, 130, [](LayerConfig& c) {
        c.weight_type = T::int8, c.weight_scale = G::per_channel, c.group_size = 0;
        c.act_type = c.out_type = c.weight_scale_type = T::fp32;
      });
      add(129, 544, [](LayerConfig& c) { c.group_size = 32, c.bias = true; });
      break;
    case Family::nvfp4_weight_only:
    case Family::nvfp4:
      add(136, 208, keep);
      add(72, 112, [](LayerConfig& c) { c.act_type = c.out_type = T::fp16, c.bias = true; });
      break;
    case Family::mxfp8_weight_only:
    case Family::mxfp8:
      add(100, 224, keep);
      add(72, 96, [](LayerConfig& c) { c.act_type = c.out_type = T::fp16, c.bias = true; });
      break;
    case Family::mxfp4_weight_only:  // K = 7 groups of 32 and 3 groups: no tile multiple
    case Family::mxfp4:
      add(100, 224, keep);
      add(72, 96, [](LayerConfig& c) { c.act_type = c.out_type = T::fp16, c.bias = true; });
      if (family == Family::mxfp4)  // fp32 x: its quantizer sees values bf16 cannot hold
        add(33, 160, [](LayerConfig& c) { c.act_type = c.out_type = T::fp32; });
      break;
    case Family::fp8_weight_only:
      add(100, 200, keep);  // per-channel scales
      add(72, 136, [](LayerConfig& c) { c.weight_scale = G::per_tensor; });
      add(56, 104, [](LayerConfig& c) { c.act_type = c.out_type = T::fp16, c.bias = true; });
      break;
    case Family::w4a8_int:
    case Family::w4a8_fp8:
      add(72, 384, keep);
      add(40, 200, [](LayerConfig& c) {
        c.weight_scale = G::per_channel, c.group_size = 0, c.out_type = T::fp16, c.bias = true;
      });
      break;
    case Family::int8_scaled_mm:
    case Family::fp8_scaled_mm: {
      add(100, 200, keep);  // per-channel weights, dynamic per-token activations
      add(72, 136, [](LayerConfig& c) {
        c.weight_scale = G::per_tensor, c.act_scale = G::per_tensor, c.act_scale_static = true;
      });
      add(56, 104, [](LayerConfig& c) { c.act_scale = G::per_tensor, c.bias = true, c.out_type = T::fp16; });
      if (family == Family::int8_scaled_mm) {
        add(88, 168, [](LayerConfig& c) { c.act_zero_points = true, c.bias = true; });
        add(48, 72, [](LayerConfig& c) {
          c.act_zero_points = true, c.act_scale = G::per_tensor, c.act_scale_static = true;
          c.weight_scale = G::per_tensor;
        });
      }
      break;
    }
    case Family::fp8_block:
      add(200, 320, keep);
      add(72, 136, [](LayerConfig& c) { c.out_type = T::fp16, c.act_type = T::fp16, c.bias = true; });
      break;
  }
  return configs;
}

}  // namespace qlinear
