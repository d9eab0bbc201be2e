// The extension module qlinear._qlinear; the package qlinear (python/qlinear) is its interface.
#include "arguments.hpp"

PYBIND11_MODULE(_qlinear, module) {
  module.doc() = "qlinear's C++ library: kernels, selection, layers and checkpoints";
  qlinear::python::bind_tensor(module);
  qlinear::python::bind_config(module);
  qlinear::python::bind_platform(module);
  qlinear::python::bind_layer(module);
  qlinear::python::bind_op_layers(module);
  qlinear::python::bind_reference(module);
}
