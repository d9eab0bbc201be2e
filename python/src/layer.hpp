// The layer the bindings hand out (_qlinear._Layer: a QuantizedLinear with its bias), shared by the
// layer's bindings and the custom op's layers by id (op_layers.cpp). The Python class qlinear.Layer
// wraps it and allocates outputs in the caller's framework.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>

#include "qlinear/linear.hpp"
#include "tensor_exchange.hpp"

namespace qlinear::python {

namespace py = pybind11;

struct Layer {
  QuantizedLinear linear;
  Tensor bias;               // on the layer's device; undefined without one
  std::string name, format;  // from a checkpoint

  // x and out as views of the layer's types, checked as QuantizedLinear::forward_into checks them
  // (so that a mistake is a ValueError).
  std::pair<ImportedTensor, ImportedTensor> call_tensors(py::handle x, py::handle out) const;
  // Raises a mistake in x or out as ValueError (py::value_error).
  void validate(const TensorView& x, const TensorView& out) const;

  // out = x · Wᵀ + bias on the caller's stream (a cudaStream_t as an integer; 0 is the default).
  void forward_into(py::handle x, py::handle out, uintptr_t stream) const;
  // The kernel on views checked by validate; touches no Python object, so it runs where the GIL
  // is not held (the custom op's C++ kernels).
  void forward_views(const TensorView& x, const TensorView& out, Stream stream) const;
  // The kernel on checked views, with the GIL released meanwhile.
  void run(const TensorView& x, const TensorView& out, uintptr_t stream) const;

  // The same call from C++, as an engine written in C++ would make it: the wall time of `reps`
  // calls in a row until the last one's output is on the host, in µs a call (the best of 5 runs).
  // bench/python_overhead.py compares it with the Python paths on the same tensors.
  double call_us(py::handle x, py::handle out, uintptr_t stream, int reps) const;
};

}  // namespace qlinear::python
