// A layer's canonical tensors as a Python dict: "weight", "weight_scale", "weight_zero_point",
// "weight_global_scale", "g_idx", "input_scale", "input_zero_point" (the LayerWeights fields of
// qlinear/kernel.hpp) and "bias".
#pragma once

#include <pybind11/pybind11.h>

#include <vector>

#include "qlinear/kernel.hpp"
#include "tensor_exchange.hpp"

namespace qlinear::python {

// The dict's tensors as views of the types the config prescribes, those on another device copied
// to `device`, so that they can be handed to QuantizedLinear. Unknown keys are a ValueError.
struct ImportedWeights {
  LayerWeights weights;
  TensorView bias;
  std::vector<ImportedTensor> imported;  // the caller's memory, read in place
  std::vector<Tensor> copies;            // what had to move to `device`
};
ImportedWeights import_weights(const LayerConfig& config, const py::dict& tensors, Device device);

// The defined tensors as qlinear.Tensor objects, keyed as above.
py::dict export_weights(const LayerTensors& tensors, const Tensor& bias = {});

}  // namespace qlinear::python
