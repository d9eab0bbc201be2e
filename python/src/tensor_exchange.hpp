// Tensors between Python and qlinear without copies: any object with __dlpack__ (numpy arrays,
// torch tensors, qlinear.Tensor) or a "dltensor" capsule comes in as a TensorView over the
// caller's memory; a qlinear::Tensor goes out as a capsule or a numpy array that keeps it alive.
//
// Types frameworks lack arrive as their bits ("carriers"): where the layer expects a type that is
// not a plain integer (bf16, fp16, the float8 and float4 types, uint4b8, uint4, uint8b128), an
// unsigned integer tensor of the same width holds its codes, and a uint8 tensor holds a packed
// 4-bit tensor two codes a byte (so its last dimension is half the element count). numpy() hands
// the same carriers back for those types.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string_view>

#include "dlpack.hpp"
#include "op_layers.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear::python {

namespace py = pybind11;

// A view over a Python object's memory, valid while this lives: it owns the consumed DLPack
// capsule's tensor (and calls its deleter) or a reference to the array it reads.
class ImportedTensor {
 public:
  ImportedTensor() = default;
  ImportedTensor(ImportedTensor&& other) noexcept;
  ImportedTensor& operator=(ImportedTensor&& other) noexcept;
  ImportedTensor(const ImportedTensor&) = delete;
  ImportedTensor& operator=(const ImportedTensor&) = delete;
  ~ImportedTensor();

  const TensorView& view() const { return view_; }

 private:
  friend ImportedTensor import_tensor(py::handle, std::string_view, std::optional<ScalarType>,
                                      bool);
  TensorView view_;
  dlpack::ManagedTensor* managed_ = nullptr;  // consumed from a capsule; its deleter frees it
  py::object array_;                          // a read-only numpy array, read through its buffer
};

// `object` as a TensorView of `expected` (or of its own type when no single type is expected).
// Raises TypeError for objects that are not tensors and ValueError for dtypes and devices qlinear
// cannot take; shape, contiguity and dtype mismatches are left to qlinear's own validation, so
// the messages are the C++ library's. A tensor qlinear writes (`written`) may not be a read-only
// numpy array.
ImportedTensor import_tensor(py::handle object, std::string_view role,
                             std::optional<ScalarType> expected = std::nullopt,
                             bool written = false);

// A torch.Tensor as the view import_tensor makes of its DLPack capsule (same types, carriers and
// errors), read through the tensor's own attributes instead (data_ptr(), shape, stride(), dtype,
// is_cuda, get_device()), so that the custom op torch.ops.qlinear.linear makes, consumes and
// frees no capsule a call. Valid while the tensor lives.
TensorView torch_tensor_view(py::handle tensor, std::string_view role,
                             std::optional<ScalarType> expected);

// A tensor that the custom op's C++ kernels describe (op_layers.hpp) as the view import_tensor
// makes of it (same types, carriers and errors); touches no Python object.
TensorView described_view(const op::Tensor& tensor, std::string_view role,
                          std::optional<ScalarType> expected);

// A "dltensor" capsule that shares `tensor`'s storage.
py::capsule export_dlpack(const Tensor& tensor);
// A numpy array sharing a CPU tensor's storage: its own dtype where numpy has it (fp32, fp16,
// int8, uint8, int32), else the carrier described above.
py::array export_numpy(const Tensor& tensor);

}  // namespace qlinear::python
