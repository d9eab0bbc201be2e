// The CPU-only build: no CUDA devices, and every CUDA memory request is refused with the reason.
#include "core/cuda_hooks.hpp"
#include "qlinear/error.hpp"

namespace qlinear::detail {
namespace {
[[noreturn]] void no_cuda(Device device) {
  throw Error(cat("device ", device.str(),
                  ": qlinear was built without CUDA (-DQLINEAR_CUDA=OFF "
                  "or no CUDA toolkit found)"));
}
}  // namespace

void* device_alloc(Device device, int64_t) { no_cuda(device); }
void device_free(Device, void*) noexcept {}
void device_copy(void*, Device destination_device, const void*, Device source_device, int64_t) {
  no_cuda(destination_device.is_cuda() ? destination_device : source_device);
}
void device_copy_2d(void*, int64_t, const void*, int64_t, int64_t, int64_t, Device device, void*) {
  no_cuda(device);
}
void device_add_bias(const TensorView& sum, const TensorView&, const TensorView&, void*) {
  no_cuda(sum.device());
}
std::vector<Platform> detect_cuda_platforms() { return {}; }

}  // namespace qlinear::detail
