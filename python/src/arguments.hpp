// What the bindings share: Python-side names of qlinear's enums, and the translation of
// qlinear::Error into the Python exception that says whose mistake it was.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>

#include "qlinear/config.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::python {

namespace py = pybind11;

// Runs `body`, raising qlinear::Error as ValueError: for calls whose only failures are the
// caller's (configs, shapes, dtypes, checkpoints). Other calls let qlinear::Error through, which
// pybind11 raises as RuntimeError (it derives from std::runtime_error).
template <typename Body>
auto caller_errors(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
}

// Parsers of the names Python passes; ValueError lists the accepted names.
ScalarType scalar_type_arg(std::string_view text, std::string_view role);
Granularity granularity_arg(std::string_view text, std::string_view role);
Family family_arg(std::string_view text);
Device device_arg(std::string_view text);
// A platform to choose for: "default" (the first GPU, else this CPU), "cpu", "cuda[:N]" (this
// machine's), or a named target ("cpu:avx2", "cuda:sm_90a", ...).
Platform target_arg(std::string_view text);

void bind_tensor(py::module_& module);
void bind_config(py::module_& module);
void bind_platform(py::module_& module);
void bind_layer(py::module_& module);
void bind_op_layers(py::module_& module);
void bind_reference(py::module_& module);

}  // namespace qlinear::python
