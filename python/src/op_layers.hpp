// The layers the custom op torch.ops.qlinear.linear runs, by integer id (the op's graphs hold an
// integer, not the layer's weights), and the C interface through which the op's C++ kernels (the
// extension qlinear._torch_op, built against torch) reach them in qlinear._qlinear.
//
// The interface is a table of plain C functions handed over as the capsule
// qlinear._qlinear._op_layers: the two modules share no C++ library (pip links libqlinear into
// _qlinear statically, and _torch_op does not link it at all) and no standard-library types, so
// that the layers, the kernels' caches and the CUDA state exist once, in _qlinear.
#pragma once

#include <cstdint>

#include "dlpack.hpp"

namespace qlinear::python::op {

// PyCapsule_Import's name of the table; the capsule carries this name too.
inline constexpr const char* kCapsuleName = "qlinear._qlinear._op_layers";
// Raised whenever the table's functions or types change, so that a _torch_op built from another
// tree refuses the table instead of calling it wrongly.
inline constexpr uint32_t kTableVersion = 1;

enum class Status : int32_t {
  ok,
  caller_error,  // the caller's tensors or layer id: the op raises ValueError
  failure,       // a kernel or device failure: RuntimeError
};

// A tensor as the op's kernels describe it: DLPack's fields, and for a dtype DLPack has no code for
// (dtype.code is then kNoDLPackCode) the framework's name of it, for the message.
inline constexpr uint8_t kNoDLPackCode = 255;
struct Tensor {
  dlpack::Tensor tensor;
  const char* dtype_name;
};

// Every function is safe without the GIL and from any thread, and throws nothing: it returns
// Status::ok, or another status with `*message` pointing at the error's text, valid until this
// thread's next call into the table.
struct Table {
  uint32_t version;  // kTableVersion
  // The output's last dimension (N) and dtype of the live layer `layer`.
  Status (*output)(int64_t layer, int64_t* n, dlpack::DataType* dtype, const char** message);
  // out = x · Wᵀ + bias by the live layer `layer`, on `stream` (a cudaStream_t; null is the
  // default stream, and what CPU tensors take), x and out checked as Layer.forward checks them.
  Status (*forward)(int64_t layer, const Tensor* x, const Tensor* out, void* stream,
                    const char** message);
};

}  // namespace qlinear::python::op
