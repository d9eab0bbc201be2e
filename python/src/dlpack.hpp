// The DLPack ABI (dlpack.h v0.8 / v1.x, unversioned "dltensor" capsules), written from the
// specification at https://dmlc.github.io/dlpack/latest/c_api.html: the structs numpy (>= 1.22)
// and PyTorch exchange through __dlpack__ / torch.utils.dlpack. Only the unversioned form is used,
// because it is the one both numpy 1.24 and PyTorch 1.13 (Debian bookworm) produce and accept.
#pragma once

#include <cstdint>

namespace qlinear::python::dlpack {

// DLDeviceType values this module meets.
inline constexpr int32_t kCpu = 1;
inline constexpr int32_t kCuda = 2;
inline constexpr int32_t kCudaHost = 3;

struct Device {
  int32_t device_type;
  int32_t device_id;
};

struct DataType {
  uint8_t code;  // DLDataTypeCode: 0 int, 1 uint, 2 float, 4 bfloat, 10.. the float8/float4 codes
  uint8_t bits;
  uint16_t lanes;
};

struct Tensor {
  void* data;
  Device device;
  int32_t ndim;
  DataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; nullptr means compact row-major
  uint64_t byte_offset;
};

struct ManagedTensor {
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(ManagedTensor* self);
};

// Capsule names: a producer's capsule is "dltensor"; the consumer renames it once it owns it, so
// the capsule's destructor no longer frees the tensor.
inline constexpr const char* kCapsuleName = "dltensor";
inline constexpr const char* kUsedCapsuleName = "used_dltensor";

}  // namespace qlinear::python::dlpack
