#include "qlinear/kernel.hpp"

#include <array>
#include <cmath>

namespace qlinear {

namespace {
constexpr std::array<std::string_view, 7> kProviderNames{
    "reference", "cpu", "onednn", "cuda", "cublaslt", "external", "composite"};
constexpr std::array<Provider, 7> kProviders{
    Provider::reference, Provider::cpu,      Provider::onednn,   Provider::cuda,
    Provider::cublaslt,  Provider::external, Provider::composite};
}  // namespace

std::string_view name(Provider provider) { return kProviderNames[static_cast<int>(provider)]; }

std::optional<Provider> parse_provider(std::string_view text) {
  for (Provider p : kProviders)
    if (name(p) == text) return p;
  return std::nullopt;
}

std::span<const Provider> all_providers() { return kProviders; }

LayerWeights LayerTensors::weights() const {
  return {weight, weight_scale, weight_zero_point, weight_global_scale,
          g_idx,  input_scale,  input_zero_point};
}

LayerTensors LayerTensors::to(Device device) const {
  const auto copy = [&](const Tensor& t) {
    return t.defined() ? Tensor::copy_of(t, device) : Tensor();
  };
  return {copy(weight), copy(weight_scale), copy(weight_zero_point), copy(weight_global_scale),
          copy(g_idx),  copy(input_scale),  copy(input_zero_point)};
}

double unit_roundoff(ScalarType type) { return std::ldexp(1.0, -(info(type).mantissa_bits + 1)); }

double Kernel::tolerance(const LayerConfig& config) const {
  // One rounding to the output type, plus the worst case of a K-term fp32 sum (gamma_K ~ K·u).
  return unit_roundoff(config.out_type) +
         static_cast<double>(config.part_k()) * unit_roundoff(ScalarType::fp32);
}

}  // namespace qlinear
