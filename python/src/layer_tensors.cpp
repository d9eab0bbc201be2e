#include "layer_tensors.hpp"

#include <array>
#include <string>

#include "arguments.hpp"

namespace qlinear::python {
namespace {

struct Field {
  const char* key;
  TensorView LayerWeights::*view;
  Tensor LayerTensors::*tensor;
};
constexpr std::array<Field, 7> kFields{{
    {"weight", &LayerWeights::weight, &LayerTensors::weight},
    {"weight_scale", &LayerWeights::weight_scale, &LayerTensors::weight_scale},
    {"weight_zero_point", &LayerWeights::weight_zero_point, &LayerTensors::weight_zero_point},
    {"weight_global_scale", &LayerWeights::weight_global_scale, &LayerTensors::weight_global_scale},
    {"g_idx", &LayerWeights::g_idx, &LayerTensors::g_idx},
    {"input_scale", &LayerWeights::input_scale, &LayerTensors::input_scale},
    {"input_zero_point", &LayerWeights::input_zero_point, &LayerTensors::input_zero_point},
}};

// The type each tensor must have under `config`, so that carriers of its bits are recognised.
ScalarType expected_type(const LayerConfig& config, std::string_view key) {
  if (key == "weight") return config.weight_type;
  if (key == "weight_scale") return config.weight_scale_type;
  if (key == "weight_zero_point") return ScalarType::uint8;
  if (key == "g_idx" || key == "input_zero_point") return ScalarType::int32;
  return ScalarType::fp32;  // weight_global_scale, input_scale
}

}  // namespace

ImportedWeights import_weights(const LayerConfig& config, const py::dict& tensors, Device device) {
  ImportedWeights result;
  const auto on_device = [&](ImportedTensor imported) {
    TensorView view = imported.view();
    result.imported.push_back(std::move(imported));
    if (view.device() == device) return view;
    result.copies.push_back(caller_errors([&] { return Tensor::copy_of(view, device); }));
    return result.copies.back().view();
  };
  for (const auto& [key_object, value] : tensors) {
    const std::string key = py::str(key_object);
    if (value.is_none()) continue;
    if (key == "bias") {
      result.bias = on_device(import_tensor(value, "bias"));
      continue;
    }
    const Field* field = nullptr;
    for (const Field& f : kFields)
      if (key == f.key) field = &f;
    if (!field)
      throw py::value_error(cat("weights: unknown tensor '", key,
                                "'; expected weight, weight_scale, weight_zero_point, "
                                "weight_global_scale, g_idx, input_scale, input_zero_point, bias"));
    result.weights.*(field->view) =
        on_device(import_tensor(value, key, expected_type(config, key)));
  }
  return result;
}

py::dict export_weights(const LayerTensors& tensors, const Tensor& bias) {
  py::dict result;
  for (const Field& f : kFields)
    if ((tensors.*(f.tensor)).defined()) result[f.key] = tensors.*(f.tensor);
  if (bias.defined()) result["bias"] = bias;
  return result;
}

}  // namespace qlinear::python
