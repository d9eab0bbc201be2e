// The layer (_qlinear._Layer, layer.hpp) and checkpoints.
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "arguments.hpp"
#include "layer.hpp"
#include "layer_tensors.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/linear.hpp"

namespace qlinear::python {

std::pair<ImportedTensor, ImportedTensor> Layer::call_tensors(py::handle x, py::handle out) const {
  const LayerConfig& c = linear.config();
  ImportedTensor x_in = import_tensor(x, "x", c.act_type);
  ImportedTensor out_in = import_tensor(out, "out", c.out_type, /*written=*/true);
  validate(x_in.view(), out_in.view());
  return {std::move(x_in), std::move(out_in)};
}

void Layer::validate(const TensorView& x, const TensorView& out) const {
  caller_errors([&] { validate_call(linear.config(), x, bias, out, linear.device()); });
}

void Layer::forward_into(py::handle x, py::handle out, uintptr_t stream) const {
  const auto [x_in, out_in] = call_tensors(x, out);
  run(x_in.view(), out_in.view(), stream);
}

void Layer::forward_views(const TensorView& x, const TensorView& out, Stream stream) const {
  validate(x, out);
  linear.forward_into(x, out, bias, stream);
}

void Layer::run(const TensorView& x, const TensorView& out, uintptr_t stream) const {
  const py::gil_scoped_release unlocked;
  linear.forward_into(x, out, bias, Stream{reinterpret_cast<void*>(stream)});
}

double Layer::call_us(py::handle x, py::handle out, uintptr_t stream, int reps) const {
  const auto [x_in, out_in] = call_tensors(x, out);
  if (out_in.view().numel() == 0 || reps < 1)
    throw py::value_error("call_us: needs a non-empty out and reps >= 1");
  const py::gil_scoped_release unlocked;
  const Stream on{reinterpret_cast<void*>(stream)};
  // A copy of one output byte waits for the calls before it (the legacy default stream, or the
  // same stream when the caller's is the default one).
  uint8_t last_byte = 0;
  const TensorView host_byte(&last_byte, ScalarType::uint8, {1});
  const TensorView out_byte(out_in.view().data(), ScalarType::uint8, {1}, out_in.view().device());
  double best = 0;
  for (int run = 0; run < 6; ++run) {  // run 0 warms up
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) linear.forward_into(x_in.view(), out_in.view(), bias, on);
    copy_bytes(host_byte, out_byte);
    const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    if (run == 1 || (run > 1 && took.count() < best)) best = took.count();
  }
  return best / reps;
}

namespace {

ChooseOptions choose_options(const std::string& kernel, const std::vector<std::string>& disabled) {
  ChooseOptions options;
  options.force = kernel;
  options.disabled = disabled;
  return options;
}

Layer make_layer(const LayerConfig& config, const py::dict& tensors, std::string_view device_name,
                 const std::string& kernel, const std::vector<std::string>& disabled) {
  const Device device = device_arg(device_name);
  caller_errors([&] { validate(config); });
  const ImportedWeights in = import_weights(config, tensors, device);
  if (in.bias.defined() != config.bias)
    throw py::value_error(config.bias ? "weights: bias is missing; the config has bias = true"
                                      : "weights: bias was given, but the config has bias = false");
  return caller_errors([&] {
    validate_weights(config, in.weights, device);
    Tensor bias;
    if (in.bias.defined()) bias = Tensor::copy_of(in.bias, device);
    return Layer{QuantizedLinear(config, in.weights, device, choose_options(kernel, disabled)),
                 bias, "", ""};
  });
}

checkpoint::Split split_arg(std::optional<std::string_view> split, std::string_view layer) {
  if (!split) return checkpoint::default_split(layer);
  if (*split == "columns") return checkpoint::Split::columns;
  if (*split == "rows") return checkpoint::Split::rows;
  throw py::value_error(cat("tp_split '", *split, "': expected 'columns' or 'rows'"));
}

Layer load(const checkpoint::Checkpoint& ckpt, const std::string& layer_name,
           std::string_view device_name, int tp_rank, int tp_size,
           std::optional<std::string_view> tp_split, const std::string& kernel,
           const std::vector<std::string>& disabled) {
  const Device device = device_arg(device_name);
  const checkpoint::Split split = split_arg(tp_split, layer_name);
  return caller_errors([&] {
    // Only this rank's part is read from the checkpoint, then served (as parallel.hpp does).
    const checkpoint::CheckpointLayer layer =
        checkpoint::serve_on(checkpoint::load_layer(ckpt, layer_name, {split, tp_rank, tp_size}),
                             platform_of(device), kernel);
    const LayerTensors on = layer.to(device);
    Tensor bias = layer.bias.defined() ? Tensor::copy_of(layer.bias, device) : Tensor();
    return Layer{
        QuantizedLinear(layer.config, on.weights(), device, choose_options(kernel, disabled)), bias,
        layer.name, layer.format};
  });
}

// One row of `qlinear inspect`: the layer's format, family, shape and the kernel it would get.
py::dict inspect_layer(const checkpoint::Checkpoint& ckpt, const std::string& layer,
                       const Platform& platform) {
  py::dict row;
  row["name"] = layer;
  if (const std::string why = checkpoint::unquantized_reason(ckpt, layer); !why.empty()) {
    row["format"] = "unquantized";
    row["reason"] = why;
    return row;
  }
  try {
    const checkpoint::CheckpointLayer l =
        checkpoint::serve_on(checkpoint::load_layer(ckpt, layer), platform);
    row["format"] = l.format;
    row["config"] = l.config;
    try {
      row["kernel"] = Registry::global().choose(l.config, platform).kernel->name();
    } catch (const Error& e) {
      row["kernel"] = py::none();
      row["error"] = std::string(e.what());
    }
  } catch (const Error& e) {
    row["error"] = std::string(e.what());
  }
  return row;
}

}  // namespace

void bind_layer(py::module_& m) {
  // Held by shared_ptr: the custom op's layers by id (op_layers.cpp) share it.
  py::class_<Layer, std::shared_ptr<Layer>>(m, "_Layer")
      .def(py::init(&make_layer), py::arg("config"), py::arg("weights"), py::arg("device"),
           py::arg("kernel"), py::arg("disabled"))
      .def_property_readonly("config", [](const Layer& l) { return l.linear.config(); })
      .def_property_readonly("choice", [](const Layer& l) { return l.linear.choice(); })
      .def_property_readonly("kernel", [](const Layer& l) { return l.linear.kernel().name(); })
      .def_property_readonly("device", [](const Layer& l) { return l.linear.device().str(); })
      .def_property_readonly(
          "tolerance",
          [](const Layer& l) { return l.linear.kernel().tolerance(l.linear.config()); })
      .def_property_readonly("bias",
                             [](const Layer& l) -> std::optional<Tensor> {
                               if (!l.bias.defined()) return std::nullopt;
                               return l.bias;
                             })
      .def_readonly("name", &Layer::name)
      .def_readonly("format", &Layer::format)
      .def("call_us", &Layer::call_us, py::arg("x"), py::arg("out"), py::arg("stream"),
           py::arg("reps"))
      .def("forward_into", &Layer::forward_into, py::arg("x"), py::arg("out"),
           py::arg("stream") = 0);

  py::class_<checkpoint::Checkpoint>(m, "Checkpoint",
                                     "A checkpoint folder (safetensors, config.json, "
                                     "hf_quant_config.json) as quantization tools write it.")
      .def(py::init([](const std::string& directory) {
             return caller_errors([&] { return checkpoint::Checkpoint::open(directory); });
           }),
           py::arg("model_dir"))
      .def_property_readonly("directory", &checkpoint::Checkpoint::directory)
      .def_property_readonly("quant_method", &checkpoint::Checkpoint::quant_method)
      .def_property_readonly(
          "activation_type",
          [](const checkpoint::Checkpoint& c) { return std::string(name(c.activation_type())); })
      .def_property_readonly("file_count", &checkpoint::Checkpoint::file_count)
      .def("layers", &checkpoint::linear_layers,
           "The prefixes of every linear layer, quantized or not, sorted.")
      .def(
          "inspect",
          [](const checkpoint::Checkpoint& c, std::string_view target) {
            const Platform platform = target_arg(target);
            py::list rows;
            for (const std::string& layer : checkpoint::linear_layers(c))
              rows.append(inspect_layer(c, layer, platform));
            return rows;
          },
          py::arg("target") = "default",
          "What `qlinear inspect` prints: per layer its name, format, config and the kernel it "
          "would get on `target` (or the error).")
      .def("_load", &load, py::arg("layer"), py::arg("device"), py::arg("tp_rank"),
           py::arg("tp_size"), py::arg("tp_split"), py::arg("kernel"), py::arg("disabled"));
}

}  // namespace qlinear::python
