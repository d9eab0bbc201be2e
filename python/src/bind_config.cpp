// qlinear.LayerConfig: the C++ struct with its enums as the names qlinear prints and parses.
#include <pybind11/stl.h>

#include <tuple>

#include "arguments.hpp"

namespace qlinear::python {
namespace {

using Config = py::class_<LayerConfig>;

void type_field(Config& c, const char* field, ScalarType LayerConfig::*member) {
  c.def_property(
      field, [member](const LayerConfig& l) { return std::string(name(l.*member)); },
      [member, field](LayerConfig& l, std::string_view v) {
        l.*member = scalar_type_arg(v, field);
      });
}

void granularity_field(Config& c, const char* field, Granularity LayerConfig::*member) {
  c.def_property(
      field, [member](const LayerConfig& l) { return std::string(name(l.*member)); },
      [member, field](LayerConfig& l, std::string_view v) {
        l.*member = granularity_arg(v, field);
      });
}

bool same_config(const LayerConfig& a, const LayerConfig& b) {
  const auto fields = [](const LayerConfig& c) {
    return std::tie(c.family, c.n, c.k, c.partition_n, c.partition_k, c.weight_type, c.weight_scale,
                    c.weight_scale_type, c.group_size, c.block_n, c.zero_points, c.act_order,
                    c.act_type, c.act_quant, c.act_scale, c.act_scale_static, c.act_group_size,
                    c.act_zero_points, c.out_type, c.bias);
  };
  return fields(a) == fields(b);
}

}  // namespace

void bind_config(py::module_& m) {
  Config config(m, "LayerConfig",
                "A layer of any family (qlinear/config.hpp). Scalar types, granularities and the "
                "family are names: 'uint4b8', 'per_group', 'mixed_precision'. Fields are set as "
                "attributes; validate() says which one a family does not accept.");
  config.def(py::init<>())
      .def_property(
          "family", [](const LayerConfig& l) { return std::string(name(l.family)); },
          [](LayerConfig& l, std::string_view v) { l.family = family_arg(v); })
      .def_readwrite("n", &LayerConfig::n)
      .def_readwrite("k", &LayerConfig::k)
      .def_readwrite("partition_n", &LayerConfig::partition_n)
      .def_readwrite("partition_k", &LayerConfig::partition_k)
      .def_readwrite("group_size", &LayerConfig::group_size)
      .def_readwrite("block_n", &LayerConfig::block_n)
      .def_readwrite("zero_points", &LayerConfig::zero_points)
      .def_readwrite("act_order", &LayerConfig::act_order)
      .def_readwrite("act_scale_static", &LayerConfig::act_scale_static)
      .def_readwrite("act_group_size", &LayerConfig::act_group_size)
      .def_readwrite("act_zero_points", &LayerConfig::act_zero_points)
      .def_readwrite("bias", &LayerConfig::bias)
      .def_property(
          "act_quant",
          [](const LayerConfig& l) -> std::optional<std::string> {
            if (!l.act_quant) return std::nullopt;
            return std::string(name(*l.act_quant));
          },
          [](LayerConfig& l, std::optional<std::string_view> v) {
            l.act_quant = v ? std::optional(scalar_type_arg(*v, "act_quant")) : std::nullopt;
          });
  type_field(config, "weight_type", &LayerConfig::weight_type);
  type_field(config, "weight_scale_type", &LayerConfig::weight_scale_type);
  type_field(config, "act_type", &LayerConfig::act_type);
  type_field(config, "out_type", &LayerConfig::out_type);
  granularity_field(config, "weight_scale", &LayerConfig::weight_scale);
  granularity_field(config, "act_scale", &LayerConfig::act_scale);
  config.def_property_readonly("part_n", &LayerConfig::part_n)
      .def_property_readonly("part_k", &LayerConfig::part_k)
      .def_property_readonly("weight_scale_shape",
                             [](const LayerConfig& l) {
                               const auto s = l.weight_scale_shape();
                               return py::make_tuple(s[0], s[1]);
                             })
      .def(
          "validate", [](const LayerConfig& l) { caller_errors([&] { validate(l); }); },
          "Raises ValueError naming the first field the family does not accept.")
      .def("describe", &LayerConfig::describe)
      .def("copy", [](const LayerConfig& l) { return l; })
      .def("__copy__", [](const LayerConfig& l) { return l; })
      .def("__deepcopy__", [](const LayerConfig& l, const py::object&) { return l; })
      .def("__eq__", &same_config)
      .def("__repr__", [](const LayerConfig& l) { return cat("LayerConfig(", l.describe(), ")"); });

  m.def(
      "_default_config",
      [](std::string_view family, int64_t n, int64_t k) {
        const Family f = family_arg(family);
        return caller_errors([&] { return default_config(f, n, k); });
      },
      py::arg("family"), py::arg("n"), py::arg("k"));
  m.def("families", [] {
    std::vector<std::string> names;
    for (Family f : all_families()) names.emplace_back(name(f));
    return names;
  });
}

}  // namespace qlinear::python
