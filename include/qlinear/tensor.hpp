// Tensors: a non-owning view (TensorView) and an owning tensor (Tensor) that hands out views.
// The fields map one to one onto DLPack's DLTensor: data, device (type, index), ndim, dtype
// (DLCode, bits, lanes = 1), shape, strides (in elements) and byte_offset.
//
// Packed sub-byte types (uint4b8, uint4, float4_e2m1f) hold two elements a byte, the element with
// the lower index in the low nibble; shapes and strides count elements, the innermost dimension
// must be contiguous and every other stride even, so that each row starts on a byte.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>

#include "qlinear/scalar_type.hpp"

namespace qlinear {

// DLPack's device type codes.
enum class DeviceType : int32_t { cpu = 1, cuda = 2 };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
  // "cpu", "cuda", "cuda:1"; throws qlinear::Error otherwise.
  static Device parse(std::string_view text);
  std::string str() const;
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  friend bool operator==(const Device&, const Device&) = default;
};

inline constexpr int kMaxDims = 6;

class TensorView {
 public:
  TensorView() = default;
  // Contiguous (row-major) view when `strides` is empty.
  TensorView(void* data, ScalarType dtype, std::span<const int64_t> shape,
             Device device = Device::cpu(), std::span<const int64_t> strides = {},
             int64_t byte_offset = 0);
  TensorView(void* data, ScalarType dtype, std::initializer_list<int64_t> shape,
             Device device = Device::cpu())
      : TensorView(data, dtype, std::span<const int64_t>(shape.begin(), shape.size()), device) {}

  bool defined() const { return base_ != nullptr; }
  // First element (base plus byte offset).
  void* data() const { return static_cast<char*>(base_) + byte_offset_; }
  template <typename T>
  T* data_as() const {
    return static_cast<T*>(data());
  }
  void* base() const { return base_; }
  int64_t byte_offset() const { return byte_offset_; }
  ScalarType dtype() const { return dtype_; }
  Device device() const { return device_; }
  int ndim() const { return ndim_; }
  std::span<const int64_t> shape() const { return {shape_.data(), static_cast<size_t>(ndim_)}; }
  std::span<const int64_t> strides() const { return {strides_.data(), static_cast<size_t>(ndim_)}; }
  int64_t size(int dim) const;  // negative dims count from the end
  int64_t stride(int dim) const;
  int64_t numel() const;
  bool is_contiguous() const;
  // Bytes spanned by a contiguous view.
  int64_t nbytes() const { return storage_bytes(dtype_, numel()); }
  // Rows of a 2-D-or-more view flattened to [rows, size(-1)]; requires contiguity.
  int64_t rows() const { return ndim_ == 0 ? 1 : numel() / size(-1); }
  // "bf16[4, 4096] cuda:0"
  std::string describe() const;

 private:
  void* base_ = nullptr;
  ScalarType dtype_ = ScalarType::fp32;
  Device device_{};
  int ndim_ = 0;
  std::array<int64_t, kMaxDims> shape_{};
  std::array<int64_t, kMaxDims> strides_{};
  int64_t byte_offset_ = 0;
};

// How long a host tensor lives, which picks where its memory comes from (CUDA tensors ignore it).
enum class Lifetime : uint8_t {
  // Outputs, activations, scratch: the C library's heap, which hands the next call the memory the
  // last one freed, already faulted in.
  per_call,
  // Kept as long as a layer (a converter's canonical weights): from 2 MiB on, a mapping of its own
  // on huge pages, which a load faults in 512 times less often (src/core/host_memory.hpp). Never
  // for per-call buffers: each would map, fault and zero fresh pages and unmap them again
  // (bench/NOTES.md, "Buffers on huge pages").
  layer,
};

// An owning tensor, contiguous unless made by `over`. Copies share the storage.
class Tensor {
 public:
  Tensor() = default;
  // Uninitialised storage on `device` (CPU memory is 64-byte aligned; CUDA memory from cudaMalloc).
  static Tensor empty(ScalarType dtype, std::span<const int64_t> shape,
                      Device device = Device::cpu(), Lifetime lifetime = Lifetime::per_call);
  static Tensor empty(ScalarType dtype, std::initializer_list<int64_t> shape,
                      Device device = Device::cpu(), Lifetime lifetime = Lifetime::per_call) {
    return empty(dtype, std::span<const int64_t>(shape.begin(), shape.size()), device, lifetime);
  }
  // A contiguous copy of `source` on `device` (host <-> CUDA copies included).
  static Tensor copy_of(const TensorView& source, Device device);
  // `view` as it is, strides included, over memory that `owner` keeps alive (a checkpoint's
  // mapped files: load_layer's codes in words, see LayerWeights::weight).
  static Tensor over(std::shared_ptr<const void> owner, const TensorView& view);

  bool defined() const { return view_.defined(); }
  const TensorView& view() const { return view_; }
  operator const TensorView&() const { return view_; }  // NOLINT: a tensor is usable as a view
  void* data() const { return view_.data(); }
  template <typename T>
  T* data_as() const {
    return view_.data_as<T>();
  }
  ScalarType dtype() const { return view_.dtype(); }
  Device device() const { return view_.device(); }
  std::span<const int64_t> shape() const { return view_.shape(); }
  int64_t size(int dim) const { return view_.size(dim); }
  int64_t numel() const { return view_.numel(); }
  int64_t nbytes() const { return view_.nbytes(); }

 private:
  std::shared_ptr<void> storage_;
  TensorView view_;
};

// Element access for host code (tests, reference, tools) through the scalar-type table.
// `index` is the flat element index of a contiguous view.
uint32_t load_code(const TensorView& t, int64_t index);
void store_code(const TensorView& t, int64_t index, uint32_t code);
inline double load_value(const TensorView& t, int64_t index) {
  return decode(t.dtype(), load_code(t, index));
}
inline void store_value(const TensorView& t, int64_t index, double value) {
  store_code(t, index, encode(t.dtype(), value));
}

// Copies bytes between views of equal size on any devices (cudaMemcpy when either is on CUDA).
void copy_bytes(const TensorView& destination, const TensorView& source);

}  // namespace qlinear
