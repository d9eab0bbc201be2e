// The custom op's layers by id (op_layers.hpp): the registry, its table for the op's C++ kernels,
// and its Python functions (_op_register, _op_release, _op_output, _op_forward, used by
// qlinear.torch, whose Python kernels serve where qlinear._torch_op was not built).
#include "op_layers.hpp"

#include <pybind11/stl.h>

#include <exception>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <unordered_map>

#include "arguments.hpp"
#include "layer.hpp"

namespace qlinear::python {
namespace {

// Ids are never handed out twice, so an id kept past its layer (in a graph, a closure) names no
// layer rather than another one. Calls come from any thread, with or without the GIL: a call holds
// its layer while it runs, so a layer released meanwhile lives until the call returns.
class OpLayers {
 public:
  int64_t add(std::shared_ptr<const Layer> layer) {
    const std::unique_lock lock(mutex_);
    const int64_t id = next_id_++;
    layers_.emplace(id, std::move(layer));
    return id;
  }

  void remove(int64_t id) {
    std::shared_ptr<const Layer> released;  // destroyed after the lock is let go
    const std::unique_lock lock(mutex_);
    if (const auto found = layers_.find(id); found != layers_.end()) {
      released = std::move(found->second);
      layers_.erase(found);
    }
  }

  // The live layer `id`; a dead or unknown id is the caller's mistake (ValueError).
  std::shared_ptr<const Layer> find(int64_t id) const {
    const std::shared_lock lock(mutex_);
    if (const auto found = layers_.find(id); found != layers_.end()) return found->second;
    throw py::value_error(cat("torch.ops.qlinear.linear: layer ", id,
                              " is not a live qlinear layer (its QuantizedLinear was freed, or "
                              "the id was never handed out)"));
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<int64_t, std::shared_ptr<const Layer>> layers_;
  int64_t next_id_ = 1;
};

// Never destroyed: a layer still registered at exit must not be freed after the CUDA runtime is.
OpLayers& op_layers() {
  static auto* layers = new OpLayers;
  return *layers;
}

// The table's functions run `body`, turning its exceptions into a status and a message kept until
// this thread's next call (op_layers.hpp). Mistakes in the caller's tensors or id arrive as
// py::value_error (raised without touching Python: it is a C++ exception until pybind11 sets it).
template <typename Body>
op::Status table_call(const char** message, Body&& body) noexcept {
  thread_local std::string last_message;
  try {
    body();
    return op::Status::ok;
  } catch (const py::value_error& e) {
    last_message = e.what();
    *message = last_message.c_str();
    return op::Status::caller_error;
  } catch (const std::exception& e) {
    last_message = e.what();
    *message = last_message.c_str();
    return op::Status::failure;
  }
}

op::Status table_output(int64_t layer, int64_t* n, dlpack::DataType* dtype, const char** message) {
  return table_call(message, [&] {
    const LayerConfig& config = op_layers().find(layer)->linear.config();
    const ScalarTypeInfo& out = info(config.out_type);
    *n = config.part_n();
    *dtype = {static_cast<uint8_t>(out.dl_code), static_cast<uint8_t>(out.bits), 1};
  });
}

op::Status table_forward(int64_t layer, const op::Tensor* x, const op::Tensor* out, void* stream,
                         const char** message) {
  return table_call(message, [&] {
    const std::shared_ptr<const Layer> l = op_layers().find(layer);
    const LayerConfig& c = l->linear.config();
    l->forward_views(described_view(*x, "x", c.act_type), described_view(*out, "out", c.out_type),
                     Stream{stream});
  });
}

const op::Table kTable{op::kTableVersion, &table_output, &table_forward};

}  // namespace

void bind_op_layers(py::module_& m) {
  m.attr("_op_layers") = py::capsule(&kTable, op::kCapsuleName);
  m.def(
      "_op_register",
      [](std::shared_ptr<Layer> layer) { return op_layers().add(std::move(layer)); },
      py::arg("layer"), "Registers a layer for torch.ops.qlinear.linear; returns its id.");
  m.def(
      "_op_release", [](int64_t id) { op_layers().remove(id); }, py::arg("layer"),
      "Forgets the id (calls in flight finish with the layer).");
  m.def(
      "_op_output",
      [](int64_t id) {
        const std::shared_ptr<const Layer> layer = op_layers().find(id);
        const LayerConfig& config = layer->linear.config();
        return std::make_tuple(config.part_n(), std::string(name(config.out_type)));
      },
      py::arg("layer"), "The layer's output: (N, qlinear's name of its dtype).");
  m.def(
      "_op_forward",
      [](int64_t id, py::handle x, py::handle out, uintptr_t stream) {
        const std::shared_ptr<const Layer> layer = op_layers().find(id);
        const LayerConfig& c = layer->linear.config();
        const TensorView x_view = torch_tensor_view(x, "x", c.act_type);
        const TensorView out_view = torch_tensor_view(out, "out", c.out_type);
        layer->validate(x_view, out_view);
        layer->run(x_view, out_view, stream);
      },
      py::arg("layer"), py::arg("x"), py::arg("out"), py::arg("stream"),
      "The op's Python kernels: out = x · Wᵀ + bias for torch tensors, read through their "
      "attributes, on `stream` (a cudaStream_t as an integer).");
}

}  // namespace qlinear::python
