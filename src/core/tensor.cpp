#include "qlinear/tensor.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "core/cuda_hooks.hpp"
#include "core/host_memory.hpp"
#include "qlinear/error.hpp"

namespace qlinear {

Device Device::parse(std::string_view text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  constexpr std::string_view prefix = "cuda:";
  if (text.starts_with(prefix)) {
    int index = -1;
    const auto digits = text.substr(prefix.size());
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && index >= 0) return cuda(index);
  }
  throw Error(cat("device '", text, "': expected cpu, cuda or cuda:N"));
}

std::string Device::str() const { return is_cpu() ? "cpu" : cat("cuda:", index); }

TensorView::TensorView(void* data, ScalarType dtype, std::span<const int64_t> shape, Device device,
                       std::span<const int64_t> strides, int64_t byte_offset)
    : base_(data), dtype_(dtype), device_(device), byte_offset_(byte_offset) {
  require(shape.size() <= kMaxDims, "tensor: ", shape.size(), " dimensions, at most ", kMaxDims,
          " supported");
  require(strides.empty() || strides.size() == shape.size(), "tensor: ", strides.size(),
          " strides for ", shape.size(), " dimensions");
  ndim_ = static_cast<int>(shape.size());
  int64_t running = 1;
  for (int d = ndim_ - 1; d >= 0; --d) {
    require(shape[d] >= 0, "tensor: negative size ", shape[d], " in dimension ", d);
    shape_[d] = shape[d];
    strides_[d] = strides.empty() ? running : strides[d];
    running *= shape[d];
  }
  if (info(dtype).bits < 8 && ndim_ > 0) {
    require(strides_[ndim_ - 1] == 1 || shape_[ndim_ - 1] <= 1, "tensor of packed ", name(dtype),
            ": the innermost dimension must be contiguous");
    for (int d = 0; d + 1 < ndim_; ++d)
      require(strides_[d] % 2 == 0, "tensor of packed ", name(dtype), ": stride ", strides_[d],
              " of dimension ", d, " must be even so that rows start on a byte");
  }
}

// size() and stride() run on every kernel call: QLINEAR_CHECK formats describe() only on failure
// (eagerly it cost ~1 us a call).
int64_t TensorView::size(int dim) const {
  const int d = dim < 0 ? dim + ndim_ : dim;
  QLINEAR_CHECK(d >= 0 && d < ndim_, "tensor ", describe(), " has no dimension ", dim);
  return shape_[d];
}

int64_t TensorView::stride(int dim) const {
  const int d = dim < 0 ? dim + ndim_ : dim;
  QLINEAR_CHECK(d >= 0 && d < ndim_, "tensor ", describe(), " has no dimension ", dim);
  return strides_[d];
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int d = 0; d < ndim_; ++d) n *= shape_[d];
  return n;
}

bool TensorView::is_contiguous() const {
  int64_t expected = 1;
  for (int d = ndim_ - 1; d >= 0; --d) {
    if (shape_[d] != 1 && strides_[d] != expected) return false;
    expected *= shape_[d];
  }
  return true;
}

std::string TensorView::describe() const {
  std::string text = cat(name(dtype_), "[");
  for (int d = 0; d < ndim_; ++d) text += cat(d ? ", " : "", shape_[d]);
  return cat(text, "] ", device_.str());
}

Tensor Tensor::empty(ScalarType dtype, std::span<const int64_t> shape, Device device,
                     Lifetime lifetime) {
  Tensor t;
  TensorView probe(nullptr, dtype, shape, device);
  // Round up so that vector code may read whole 64-byte lines at the end.
  const int64_t bytes = std::max<int64_t>(64, (probe.nbytes() + 63) / 64 * 64);
  if (device.is_cpu() && lifetime == Lifetime::layer) {
    t.storage_ = detail::layer_alloc(static_cast<size_t>(bytes));  // see host_memory.hpp
  } else if (device.is_cpu()) {
    t.storage_ =
        std::shared_ptr<void>(std::aligned_alloc(64, static_cast<size_t>(bytes)), std::free);
    require(t.storage_ != nullptr, "out of host memory allocating ", bytes, " bytes");
  } else {
    void* p = detail::device_alloc(device, bytes);
    t.storage_ = std::shared_ptr<void>(p, [device](void* q) { detail::device_free(device, q); });
  }
  t.view_ = TensorView(t.storage_.get(), dtype, shape, device);
  return t;
}

Tensor Tensor::copy_of(const TensorView& source, Device device) {
  require(source.is_contiguous(), "copy of ", source.describe(), ": source must be contiguous");
  Tensor t = empty(source.dtype(), source.shape(), device);
  copy_bytes(t, source);
  return t;
}

Tensor Tensor::over(std::shared_ptr<const void> owner, const TensorView& view) {
  Tensor t;
  t.storage_ = std::const_pointer_cast<void>(std::move(owner));
  t.view_ = view;
  return t;
}

void copy_bytes(const TensorView& destination, const TensorView& source) {
  require(destination.nbytes() == source.nbytes(), "copy from ", source.describe(), " to ",
          destination.describe(), ": sizes differ");
  if (source.nbytes() == 0) return;
  if (destination.device().is_cpu() && source.device().is_cpu()) {
    std::memcpy(destination.data(), source.data(), static_cast<size_t>(source.nbytes()));
  } else {
    detail::device_copy(destination.data(), destination.device(), source.data(), source.device(),
                        source.nbytes());
  }
}

uint32_t load_code(const TensorView& t, int64_t index) {
  const auto* bytes = static_cast<const uint8_t*>(t.data());
  switch (info(t.dtype()).bits) {
    case 4:
      return (bytes[index / 2] >> ((index % 2) * 4)) & 0xfu;
    case 8:
      return bytes[index];
    case 16: {
      uint16_t v;
      std::memcpy(&v, bytes + 2 * index, 2);
      return v;
    }
    default: {
      uint32_t v;
      std::memcpy(&v, bytes + 4 * index, 4);
      return v;
    }
  }
}

void store_code(const TensorView& t, int64_t index, uint32_t code) {
  auto* bytes = static_cast<uint8_t*>(t.data());
  switch (info(t.dtype()).bits) {
    case 4: {
      const int shift = (index % 2) * 4;
      uint8_t& b = bytes[index / 2];
      b = static_cast<uint8_t>((b & ~(0xfu << shift)) | ((code & 0xfu) << shift));
      break;
    }
    case 8:
      bytes[index] = static_cast<uint8_t>(code);
      break;
    case 16: {
      const auto v = static_cast<uint16_t>(code);
      std::memcpy(bytes + 2 * index, &v, 2);
      break;
    }
    default:
      std::memcpy(bytes + 4 * index, &code, 4);
      break;
  }
}

}  // namespace qlinear
