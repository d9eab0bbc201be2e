#include "tensor_exchange.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "qlinear/error.hpp"

namespace qlinear::python {
namespace {

std::string dtype_text(const dlpack::DataType& dtype) {
  switch (dtype.code) {
    case 0:
      return cat("int", int{dtype.bits});
    case 1:
      return cat("uint", int{dtype.bits});
    case 2:
      return cat("float", int{dtype.bits});
    case 4:
      return cat("bfloat", int{dtype.bits});
    case 6:
      return cat("bool", int{dtype.bits});
    default:
      return cat("DLPack type code ", int{dtype.code}, " of ", int{dtype.bits}, " bits");
  }
}

// The qlinear type a DLPack dtype names by itself; the biased integer types (uint4b8, uint8b128)
// share their DLPack code with uint4 / uint8 and are reached only through an expected type.
std::optional<ScalarType> natural_type(const dlpack::DataType& dtype) {
  for (ScalarType t : all_scalar_types()) {
    const ScalarTypeInfo& i = info(t);
    if (static_cast<uint8_t>(i.dl_code) == dtype.code && i.bits == dtype.bits && i.bias == 0)
      return t;
  }
  return std::nullopt;
}

// The types that may arrive as their bits (see the header): those frameworks may lack. The plain
// integer types are not among them, so that int8 given for uint8 stays an error.
bool has_carrier(ScalarType type) {
  const ScalarTypeInfo& i = info(type);
  return i.bits <= 16 && (i.is_float || i.bias != 0 || i.bits == 4);
}

// Whether an unsigned integer tensor of `dtype` holds `expected`'s bits, and how.
enum class Carrier { none, same_width, packed_pairs };
Carrier carrier(const dlpack::DataType& dtype, ScalarType expected) {
  const ScalarTypeInfo& e = info(expected);
  if (dtype.code != 1 || !has_carrier(expected)) return Carrier::none;
  if (dtype.bits == e.bits) return Carrier::same_width;
  if (e.bits == 4 && dtype.bits == 8) return Carrier::packed_pairs;
  return Carrier::none;
}

std::string expected_text(ScalarType expected) {
  const ScalarTypeInfo& e = info(expected);
  if (!has_carrier(expected)) return std::string(name(expected));
  return cat(name(expected), " (or its bits as uint", e.bits == 4 ? 8 : e.bits,
             e.bits == 4 ? ", two codes a byte)" : ")");
}

py::value_error no_type_for(std::string_view role, std::string_view dtype,
                            std::optional<ScalarType> expected) {
  return py::value_error(cat(role, " has dtype ", dtype, ", which qlinear has no type for",
                             expected ? cat("; expected ", expected_text(*expected)) : ""));
}

Device device_of(const dlpack::Device& device, std::string_view role) {
  if (device.device_type == dlpack::kCpu) return Device::cpu();
  if (device.device_type == dlpack::kCuda) return Device::cuda(device.device_id);
  throw py::value_error(
      cat(role, " is on DLPack device type ", device.device_type,
          device.device_type == dlpack::kCudaHost ? " (CUDA pinned host memory)" : "",
          "; qlinear takes CPU and CUDA tensors"));
}

// `dtype_name` names t's dtype in messages where DLPack has no code for it.
TensorView view_of(const dlpack::Tensor& t, std::string_view role,
                   std::optional<ScalarType> expected, const char* dtype_name = nullptr) {
  if (t.dtype.lanes != 1)
    throw py::value_error(
        cat(role, " has ", t.dtype.lanes, "-lane vector elements; qlinear takes scalars"));
  if (t.ndim > kMaxDims)
    throw py::value_error(
        cat(role, " has ", t.ndim, " dimensions; qlinear takes at most ", kMaxDims));
  const Device device = device_of(t.device, role);
  std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
  std::vector<int64_t> strides;
  if (t.strides) strides.assign(t.strides, t.strides + t.ndim);

  const std::optional<ScalarType> natural = natural_type(t.dtype);
  ScalarType type;
  if (expected && natural == expected) {
    type = *expected;
  } else if (const Carrier c = expected ? carrier(t.dtype, *expected) : Carrier::none;
             c != Carrier::none) {
    type = *expected;
    if (c == Carrier::packed_pairs && t.ndim > 0) {
      if (!strides.empty() && shape.back() > 1 && strides.back() != 1)
        throw py::value_error(cat(role, ": packed ", name(type),
                                  " bytes must be contiguous along the last dimension"));
      shape.back() *= 2;
      for (int64_t& s : strides) s *= 2;
      if (!strides.empty()) strides.back() = 1;
    }
  } else if (natural) {
    type = *natural;  // qlinear's validation names the mismatch, as in C++
  } else {
    throw no_type_for(role, dtype_name ? dtype_name : dtype_text(t.dtype), expected);
  }
  // Frameworks hand out empty tensors with no storage and any strides; qlinear reads a null
  // pointer as "no tensor", so such a tensor becomes a compact one over a placeholder.
  alignas(64) static char empty_storage[64];
  void* data = t.data;
  auto byte_offset = static_cast<int64_t>(t.byte_offset);
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    data = empty_storage;
    byte_offset = 0;
    strides.clear();
  }
  return TensorView(data, type, shape, device, strides, byte_offset);
}

// numpy (1.22-1.24) refuses to export read-only arrays through DLPack, which cannot say that
// they are read-only; those are read through the array interface instead (inputs only).
dlpack::Tensor describe_array(const py::array& array, std::vector<int64_t>& shape,
                              std::vector<int64_t>& strides) {
  const py::dtype dtype = array.dtype();
  if (!dtype.attr("isnative").cast<bool>())
    throw py::value_error("the array's bytes are not in this machine's byte order");
  const char kind = dtype.kind();
  const auto itemsize = static_cast<int64_t>(dtype.itemsize());
  const uint8_t code = kind == 'f' ? 2 : kind == 'i' ? 0 : kind == 'u' ? 1 : 255;
  shape.assign(array.shape(), array.shape() + array.ndim());
  strides.clear();
  for (py::ssize_t d = 0; d < array.ndim(); ++d) {
    if (array.strides(d) % itemsize != 0)
      throw py::value_error("array strides are not a multiple of its element size");
    strides.push_back(array.strides(d) / itemsize);
  }
  return {const_cast<void*>(array.data()),
          {dlpack::kCpu, 0},
          static_cast<int32_t>(array.ndim()),
          {code, static_cast<uint8_t>(itemsize * 8), 1},
          shape.data(),
          strides.data(),
          0};
}

// torch's dtypes by name (str(dtype)) as DLPack codes them: those qlinear takes, as a type of its
// own or as the bits of one. No other names a qlinear type.
struct TorchDtype {
  std::string_view name;
  dlpack::DataType dtype;
};
constexpr uint8_t code(DLCode c) { return static_cast<uint8_t>(c); }
constexpr TorchDtype kTorchDtypes[] = {
    {"torch.float32", {code(DLCode::kFloat), 32, 1}},
    {"torch.float16", {code(DLCode::kFloat), 16, 1}},
    {"torch.bfloat16", {code(DLCode::kBfloat), 16, 1}},
    {"torch.int32", {code(DLCode::kInt), 32, 1}},
    {"torch.int8", {code(DLCode::kInt), 8, 1}},
    {"torch.uint8", {code(DLCode::kUInt), 8, 1}},
    {"torch.uint16", {code(DLCode::kUInt), 16, 1}},
    {"torch.float8_e4m3fn", {code(DLCode::kFloat8_e4m3fn), 8, 1}},
    {"torch.float8_e5m2", {code(DLCode::kFloat8_e5m2), 8, 1}},
    {"torch.float8_e8m0fnu", {code(DLCode::kFloat8_e8m0fnu), 8, 1}},
};

// torch's dtype objects are singletons: each one's name is read the first time it comes, and from
// then on it is known by its address (str() builds a new string each call). The table is guarded
// by the GIL and keeps its dtypes alive.
dlpack::DataType torch_dtype(py::handle dtype, std::string_view role,
                             std::optional<ScalarType> expected) {
  static std::vector<std::pair<PyObject*, dlpack::DataType>> known;
  for (const auto& [object, type] : known)
    if (object == dtype.ptr()) return type;
  const auto name = py::str(dtype).cast<std::string>();
  for (const TorchDtype& t : kTorchDtypes) {
    if (t.name != name) continue;
    known.emplace_back(dtype.inc_ref().ptr(), t.dtype);
    return t.dtype;
  }
  // Named as DLPack names it ("float64", not "torch.float64"), as the op's C++ kernels do.
  const std::string_view prefix = "torch.";
  throw no_type_for(role, name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name, expected);
}

// The attributes torch_tensor_view reads, as Python strings made once (attr("name") makes one for
// each lookup). Never freed: a static py::str would be released after the interpreter is gone.
struct TorchAttributes {
  py::str data_ptr{"data_ptr"}, shape{"shape"}, stride{"stride"}, dtype{"dtype"},
      is_cuda{"is_cuda"}, is_cpu{"is_cpu"}, get_device{"get_device"}, device{"device"};
};
const TorchAttributes& torch_attributes() {
  static const auto* names = new TorchAttributes;
  return *names;
}

dlpack::Device torch_device(py::handle tensor, std::string_view role, const TorchAttributes& a) {
  if (tensor.attr(a.is_cuda).ptr() == Py_True)
    return {dlpack::kCuda, tensor.attr(a.get_device)().cast<int32_t>()};
  if (tensor.attr(a.is_cpu).ptr() == Py_True) return {dlpack::kCpu, 0};
  throw py::value_error(cat(role, " is on ", py::str(tensor.attr(a.device)).cast<std::string>(),
                            "; qlinear takes CPU and CUDA tensors"));
}

// The integers of a tuple (torch.Size is one; so is what stride() returns).
std::vector<int64_t> int_tuple(const py::object& tuple) {
  if (!PyTuple_Check(tuple.ptr())) throw py::type_error("expected a torch.Tensor");
  std::vector<int64_t> values(static_cast<size_t>(PyTuple_GET_SIZE(tuple.ptr())));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(tuple.ptr(), static_cast<py::ssize_t>(i)));
  return values;
}

}  // namespace

ImportedTensor::ImportedTensor(ImportedTensor&& other) noexcept
    : view_(other.view_),
      managed_(std::exchange(other.managed_, nullptr)),
      array_(std::move(other.array_)) {}

ImportedTensor& ImportedTensor::operator=(ImportedTensor&& other) noexcept {
  std::swap(view_, other.view_);
  std::swap(managed_, other.managed_);
  std::swap(array_, other.array_);
  return *this;
}

ImportedTensor::~ImportedTensor() {
  if (managed_ && managed_->deleter) managed_->deleter(managed_);
}

ImportedTensor import_tensor(py::handle object, std::string_view role,
                             std::optional<ScalarType> expected, bool written) {
  ImportedTensor imported;
  if (py::isinstance<py::array>(object) && !py::reinterpret_borrow<py::array>(object).writeable()) {
    if (written) throw py::value_error(cat(role, " is a read-only array; qlinear writes it"));
    const auto array = py::reinterpret_borrow<py::array>(object);
    std::vector<int64_t> shape, strides;
    const dlpack::Tensor described = describe_array(array, shape, strides);
    imported.view_ = view_of(described, role, expected);
    imported.array_ = array;
    return imported;
  }
  py::object capsule;
  if (PyCapsule_CheckExact(object.ptr())) {
    capsule = py::reinterpret_borrow<py::object>(object);
  } else if (py::hasattr(object, "__dlpack__")) {
    capsule = object.attr("__dlpack__")();
  } else {
    throw py::type_error(cat(role, " is a ",
                             py::str(py::type::of(object).attr("__name__")).cast<std::string>(),
                             "; expected a tensor (numpy array, torch tensor, qlinear.Tensor: "
                             "anything with __dlpack__)"));
  }
  auto* managed = static_cast<dlpack::ManagedTensor*>(
      PyCapsule_GetPointer(capsule.ptr(), dlpack::kCapsuleName));
  if (!managed) {
    PyErr_Clear();
    throw py::value_error(cat(role, ": the DLPack capsule was already consumed"));
  }
  PyCapsule_SetName(capsule.ptr(), dlpack::kUsedCapsuleName);
  imported.managed_ = managed;  // owned from here on, so freed even if the view is refused
  imported.view_ = view_of(managed->dl_tensor, role, expected);
  return imported;
}

TensorView torch_tensor_view(py::handle tensor, std::string_view role,
                             std::optional<ScalarType> expected) {
  const TorchAttributes& a = torch_attributes();
  const dlpack::DataType dtype = torch_dtype(tensor.attr(a.dtype), role, expected);
  const dlpack::Device device = torch_device(tensor, role, a);
  std::vector<int64_t> shape = int_tuple(tensor.attr(a.shape));
  std::vector<int64_t> strides = int_tuple(tensor.attr(a.stride)());
  // data_ptr() is the first element's address: torch's storage offset is in it.
  auto* data = reinterpret_cast<void*>(tensor.attr(a.data_ptr)().cast<uintptr_t>());
  const dlpack::Tensor described{
      data, device, static_cast<int32_t>(shape.size()), dtype, shape.data(), strides.data(), 0};
  return view_of(described, role, expected);
}

TensorView described_view(const op::Tensor& tensor, std::string_view role,
                          std::optional<ScalarType> expected) {
  const char* unnamed_by_dlpack =
      tensor.tensor.dtype.code == op::kNoDLPackCode ? tensor.dtype_name : nullptr;
  return view_of(tensor.tensor, role, expected, unnamed_by_dlpack);
}

namespace {

struct ExportedTensor {
  Tensor tensor;
  std::vector<int64_t> shape, strides;
  dlpack::ManagedTensor managed;
};

}  // namespace

py::capsule export_dlpack(const Tensor& tensor) {
  auto* owner = new ExportedTensor{tensor, {}, {}, {}};
  const TensorView& v = tensor.view();
  owner->shape.assign(v.shape().begin(), v.shape().end());
  owner->strides.assign(v.strides().begin(), v.strides().end());
  const ScalarTypeInfo& i = info(v.dtype());
  owner->managed.dl_tensor = {
      v.base(),
      {v.device().is_cuda() ? dlpack::kCuda : dlpack::kCpu, v.device().index},
      v.ndim(),
      {static_cast<uint8_t>(i.dl_code), static_cast<uint8_t>(i.bits), 1},
      owner->shape.data(),
      owner->strides.data(),
      static_cast<uint64_t>(v.byte_offset())};
  owner->managed.manager_ctx = owner;
  owner->managed.deleter = [](dlpack::ManagedTensor* self) {
    delete static_cast<ExportedTensor*>(self->manager_ctx);
  };
  // A capsule nobody consumed still frees the tensor; a consumed one was renamed.
  return py::capsule(&owner->managed, dlpack::kCapsuleName, [](PyObject* capsule) {
    if (!PyCapsule_IsValid(capsule, dlpack::kCapsuleName)) return;
    auto* managed =
        static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(capsule, dlpack::kCapsuleName));
    managed->deleter(managed);
  });
}

py::array export_numpy(const Tensor& tensor) {
  const TensorView& v = tensor.view();
  if (!v.device().is_cpu())
    throw py::value_error(
        cat("numpy(): ", v.describe(), " is not on the CPU; copy it with to('cpu')"));
  const ScalarTypeInfo& i = info(v.dtype());
  py::dtype dtype = py::dtype::of<uint8_t>();
  switch (v.dtype()) {
    case ScalarType::fp32:
      dtype = py::dtype::of<float>();
      break;
    case ScalarType::fp16:
      dtype = py::dtype("float16");
      break;
    case ScalarType::int8:
      dtype = py::dtype::of<int8_t>();
      break;
    case ScalarType::int32:
      dtype = py::dtype::of<int32_t>();
      break;
    default:
      dtype = i.bits == 16 ? py::dtype::of<uint16_t>() : py::dtype::of<uint8_t>();
      break;
  }
  std::vector<py::ssize_t> shape(v.shape().begin(), v.shape().end());
  std::vector<py::ssize_t> strides(v.strides().begin(), v.strides().end());
  const int64_t element_bytes = i.bits == 4 ? 1 : i.bits / 8;
  if (i.bits == 4 && !shape.empty()) {  // two codes a byte along the last dimension
    shape.back() /= 2;
    for (auto& s : strides) s /= 2;
    strides.back() = 1;
  }
  for (auto& s : strides) s *= element_bytes;
  auto* owner = new Tensor(tensor);
  py::capsule base(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(dtype, shape, strides, v.data(), base);
}

}  // namespace qlinear::python
