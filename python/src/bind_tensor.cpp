// qlinear.Tensor (an owning qlinear::Tensor that speaks DLPack and numpy), and encode / decode
// through qlinear's scalar-type table, which is how numpy users make bf16, float8 and packed
// 4-bit tensors.
#include <pybind11/stl.h>

#include "arguments.hpp"
#include "tensor_exchange.hpp"

namespace qlinear::python {
namespace {

py::tuple shape_tuple(std::span<const int64_t> shape) {
  py::tuple result(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) result[i] = shape[i];
  return result;
}

// Values rounded to `dtype` (nearest, ties to even; the type's own overflow rule).
Tensor encode_values(const py::array_t<double, py::array::c_style | py::array::forcecast>& values,
                     std::string_view dtype) {
  const ScalarType type = scalar_type_arg(dtype, "dtype");
  const std::vector<int64_t> shape(values.shape(), values.shape() + values.ndim());
  if (info(type).bits == 4 && (shape.empty() || shape.back() % 2 != 0))
    throw py::value_error(
        cat("encode: ", name(type),
            " packs two codes a byte along the last dimension, which must be even"));
  return caller_errors([&] {
    Tensor t = Tensor::empty(type, shape);
    const double* v = values.data();
    for (int64_t i = 0; i < t.numel(); ++i) store_value(t, i, v[i]);
    return t;
  });
}

// A CPU tensor's values as float64 (its carriers read as `dtype` when given).
py::array_t<double> decode_values(py::handle tensor, std::optional<std::string_view> dtype) {
  const auto type = dtype ? std::optional(scalar_type_arg(*dtype, "dtype")) : std::nullopt;
  const ImportedTensor imported = import_tensor(tensor, "tensor", type);
  const TensorView& v = imported.view();
  if (!v.device().is_cpu() || !v.is_contiguous())
    throw py::value_error(cat("decode: ", v.describe(), " must be a contiguous CPU tensor"));
  py::array_t<double> result(std::vector<py::ssize_t>(v.shape().begin(), v.shape().end()));
  double* out = result.mutable_data();
  for (int64_t i = 0; i < v.numel(); ++i) out[i] = load_value(v, i);
  return result;
}

}  // namespace

void bind_tensor(py::module_& m) {
  py::class_<Tensor>(m, "Tensor",
                     "A tensor owned by qlinear (CPU or CUDA). Exchanged through DLPack "
                     "(torch.from_dlpack) or numpy() without a copy.")
      .def_static(
          "empty",
          [](std::string_view dtype, const std::vector<int64_t>& shape, std::string_view device) {
            const ScalarType type = scalar_type_arg(dtype, "dtype");
            return caller_errors([&] { return Tensor::empty(type, shape, device_arg(device)); });
          },
          py::arg("dtype"), py::arg("shape"), py::arg("device") = "cpu",
          "Uninitialised storage of a qlinear scalar type.")
      .def_property_readonly("dtype", [](const Tensor& t) { return std::string(name(t.dtype())); })
      .def_property_readonly("shape", [](const Tensor& t) { return shape_tuple(t.shape()); })
      .def_property_readonly("device", [](const Tensor& t) { return t.device().str(); })
      .def(
          "to",
          [](const Tensor& t, std::string_view device) {
            return caller_errors([&] { return Tensor::copy_of(t, device_arg(device)); });
          },
          py::arg("device"), "A copy on another device.")
      .def("numpy", &export_numpy,
           "The CPU tensor as a numpy array sharing its memory; types numpy lacks come as their "
           "bits (uint16 for bf16, uint8 for 8-bit types, uint8 two codes a byte for 4-bit).")
      .def(
          "__dlpack__", [](const Tensor& t, const py::object&) { return export_dlpack(t); },
          py::arg("stream") = py::none(),
          "qlinear's tensors are complete when the call that made them returns, so no stream "
          "needs to wait.")
      .def("__dlpack_device__",
           [](const Tensor& t) {
             return py::make_tuple(t.device().is_cuda() ? dlpack::kCuda : dlpack::kCpu,
                                   t.device().index);
           })
      .def("__repr__",
           [](const Tensor& t) { return cat("qlinear.Tensor(", t.view().describe(), ")"); });

  m.def("encode", &encode_values, py::arg("values"), py::arg("dtype"),
        "Values rounded to a qlinear scalar type (nearest, ties to even; the type's overflow rule) "
        "as a new CPU qlinear.Tensor; 4-bit types packed two a byte along the last dimension.");
  m.def("decode", &decode_values, py::arg("tensor"), py::arg("dtype") = py::none(),
        "A CPU tensor's values as float64; `dtype` reads a carrier of bits (uint8, uint16) as "
        "that type.");
  m.def("scalar_types", [] {
    std::vector<std::string> names;
    for (ScalarType t : all_scalar_types()) names.emplace_back(name(t));
    return names;
  });
}

}  // namespace qlinear::python
