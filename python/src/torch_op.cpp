// The extension qlinear._torch_op: torch.ops.qlinear.linear's CPU and CUDA kernels in C++, built
// against the interpreter's torch, so that the dispatcher calls them with no Python frame. They
// describe the tensors to qlinear._qlinear's table of layers (op_layers.hpp), which checks them as
// Layer.forward does and runs the layer on their memory, on torch's current CUDA stream; the
// output of linear() comes from torch's allocator. qlinear.torch defines the op's schema and fake
// implementation and then calls register_kernels(); without this module its Python kernels serve.
#include <ATen/DLConvertor.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/SmallVector.h>
#include <pybind11/pybind11.h>
#include <torch/library.h>

#include <vector>

#ifdef QLINEAR_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include "op_layers.hpp"

namespace qlinear::python {
namespace {

const op::Table* layers = nullptr;  // qlinear._qlinear's table, taken when this module loads

// Makes a call into the table (`call(&message)`); a status other than ok is raised as
// Layer.forward raises it: ValueError for the caller's mistakes (torch turns c10::ValueError into
// one), RuntimeError for failures.
template <typename Call>
void checked(Call&& call) {
  const char* message = nullptr;
  const op::Status status = call(&message);
  TORCH_CHECK_VALUE(status != op::Status::caller_error, message);
  TORCH_CHECK(status == op::Status::ok, message);
}

// t as the table reads it: its own data pointer (the storage offset included), sizes and strides,
// in place for as long as t lives.
op::Tensor described(const at::Tensor& t) {
  op::Tensor d{};
  d.tensor.data = t.data_ptr();
  d.tensor.ndim = static_cast<int32_t>(t.dim());
  d.tensor.shape = const_cast<int64_t*>(t.sizes().data());
  d.tensor.strides = const_cast<int64_t*>(t.strides().data());
  // Any other device (type 0) gets qlinear's "takes CPU and CUDA tensors".
  d.tensor.device = {t.is_cuda()  ? dlpack::kCuda
                     : t.is_cpu() ? dlpack::kCpu
                                  : 0,
                     t.is_cuda() ? static_cast<int32_t>(t.get_device()) : 0};
  try {
    const DLDataType dtype = at::getDLDataType(t);
    d.tensor.dtype = {dtype.code, dtype.bits, dtype.lanes};
  } catch (const c10::Error&) {  // a dtype DLPack has no code for (bool, complex, quantized)
    d.tensor.dtype = {op::kNoDLPackCode, static_cast<uint8_t>(t.element_size() * 8), 1};
    d.dtype_name = c10::toString(t.scalar_type());
  }
  return d;
}

void* current_stream([[maybe_unused]] const at::Tensor& x) {
#ifdef QLINEAR_TORCH_CUDA
  if (x.is_cuda()) return c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
#endif
  return nullptr;  // CPU tensors (and the default stream)
}

at::Tensor& linear_out(const at::Tensor& x, int64_t layer, at::Tensor& out) {
  const op::Tensor x_described = described(x);
  const op::Tensor out_described = described(out);
  void* const stream = current_stream(x);
  checked([&](const char** message) {
    return layers->forward(layer, &x_described, &out_described, stream, message);
  });
  return out;
}

at::Tensor linear(const at::Tensor& x, int64_t layer) {
  int64_t n = 0;
  dlpack::DataType dtype{};
  checked([&](const char** message) { return layers->output(layer, &n, &dtype, message); });
  c10::SmallVector<int64_t, 6> shape(x.sizes().begin(), x.sizes().end());  // [..., K] -> [..., N]
  if (shape.empty())
    shape.push_back(n);
  else
    shape.back() = n;
  at::Tensor out =
      at::empty(shape, x.options().dtype(at::toScalarType({dtype.code, dtype.bits, dtype.lanes})));
  return linear_out(x, layer, out);
}

// The kernels, for the dispatch keys this build serves. Libraries stay registered for the
// process's life, as the schema's Python library does.
void register_kernels() {
  static bool registered = false;  // under the GIL
  if (registered) return;
  std::vector<c10::DispatchKey> keys{c10::DispatchKey::CPU};
#ifdef QLINEAR_TORCH_CUDA
  keys.push_back(c10::DispatchKey::CUDA);
#endif
  for (const c10::DispatchKey key : keys) {
    auto* library = new torch::Library(torch::Library::IMPL, "qlinear", key, __FILE__, __LINE__);
    library->impl("linear", TORCH_FN(linear));
    library->impl("linear.out", TORCH_FN(linear_out));
  }
  registered = true;
}

}  // namespace
}  // namespace qlinear::python

PYBIND11_MODULE(_torch_op, module) {
  namespace op = qlinear::python::op;
  module.doc() = "torch.ops.qlinear.linear's CPU and CUDA kernels in C++";
  const auto* table = static_cast<const op::Table*>(PyCapsule_Import(op::kCapsuleName, 0));
  if (!table) throw pybind11::error_already_set();
  if (table->version != op::kTableVersion)
    throw pybind11::import_error("qlinear._torch_op was built from another qlinear than _qlinear");
  qlinear::python::layers = table;
  // The torch this module was built against; qlinear.torch registers the kernels only into it.
  module.attr("torch_version") = QLINEAR_TORCH_VERSION;
  module.def("register_kernels", &qlinear::python::register_kernels,
             "Registers the kernels for the op qlinear.torch has defined (once a process).");
}
