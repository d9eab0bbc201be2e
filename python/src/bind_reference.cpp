// qlinear.reference: the oracle's decoded operands and the random layers the C++ tests use, so
// that Python tests check kernels on fresh data against float64 products of their own.
#include <pybind11/stl.h>

#include "arguments.hpp"
#include "layer_tensors.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::python {
namespace {

py::array_t<double> as_matrix(const std::vector<double>& values, int64_t rows, int64_t cols) {
  py::array_t<double> result({rows, cols});
  std::copy(values.begin(), values.end(), result.mutable_data());
  return result;
}

void check_activations(const LayerConfig& config, const TensorView& x) {
  require(x.dtype() == config.act_type && x.ndim() >= 1 && x.size(-1) == config.part_k() &&
              x.is_contiguous(),
          "x is ", x.describe(), "; expected a contiguous ", name(config.act_type), "[..., ",
          config.part_k(), "]");
}

}  // namespace

void bind_reference(py::module_& m) {
  py::module_ reference = m.def_submodule("reference", "The exact oracle's decoded operands.");
  reference.def(
      "dequantize_weights",
      [](const LayerConfig& config, const py::dict& weights) {
        caller_errors([&] { validate(config); });
        const ImportedWeights in = import_weights(config, weights, Device::cpu());
        return caller_errors([&] {
          validate_weights(config, in.weights, Device::cpu());
          return as_matrix(reference::dequantize_weights(config, in.weights), config.part_n(),
                           config.part_k());
        });
      },
      py::arg("config"), py::arg("weights"), "The exact dequantized weight ŵ as float64 [N, K].");
  reference.def(
      "activations",
      [](const LayerConfig& config, const py::dict& weights, py::handle x) {
        caller_errors([&] { validate(config); });
        const ImportedWeights in = import_weights(config, weights, Device::cpu());
        const ImportedTensor x_in = import_tensor(x, "x", config.act_type);
        return caller_errors([&] {
          const TensorView& v = x_in.view();
          check_activations(config, v);
          return as_matrix(reference::activations_as_used(config, in.weights, v), v.rows(),
                           config.part_k());
        });
      },
      py::arg("config"), py::arg("weights"), py::arg("x"),
      "x̂ as float64 [M, K]: x decoded, or quantized and dequantized as the family prescribes.");
  reference.def(
      "quantize_activations",
      [](const LayerConfig& config, const py::dict& weights, py::handle x) {
        caller_errors([&] { validate(config); });
        const ImportedWeights in = import_weights(config, weights, Device::cpu());
        const ImportedTensor x_in = import_tensor(x, "x", config.act_type);
        const reference::QuantizedActivations q = caller_errors([&] {
          check_activations(config, x_in.view());
          return reference::quantize_activations(config, in.weights, x_in.view());
        });
        py::dict result;
        result["codes"] = q.codes;
        result["scales"] = q.scales;
        if (q.zero_points.defined()) result["zero_points"] = q.zero_points;
        return result;
      },
      py::arg("config"), py::arg("weights"), py::arg("x"),
      "x quantized as every kernel must (qlinear/reference.hpp): {'codes', 'scales', "
      "'zero_points'} as qlinear.Tensor objects; x is [M, K] of the config's act_type.");

  m.def(
      "random_layer",
      [](const LayerConfig& config, uint64_t seed) {
        return caller_errors([&] { return export_weights(make_random_layer(config, seed)); });
      },
      py::arg("config"), py::arg("seed"),
      "Canonical tensors with random contents shaped like a real checkpoint's (CPU).");
  m.def(
      "random_activations",
      [](std::string_view dtype, const std::vector<int64_t>& shape, uint64_t seed) {
        const ScalarType type = scalar_type_arg(dtype, "dtype");
        return caller_errors([&] { return random_activations(type, shape, seed); });
      },
      py::arg("dtype"), py::arg("shape"), py::arg("seed"),
      "Normal(0, 1) values rounded to dtype, with a few outliers up to 8 (CPU).");
}

}  // namespace qlinear::python
