// The CUDA build's implementation of the core's hooks (core/cuda_hooks.hpp) with cudart.

#include "core/cuda_hooks.hpp"
#include "gpu/check.hpp"
#include "gpu/epilogue.hpp"

namespace qlinear::detail {

using cuda::check_cuda;

void* device_alloc(Device device, int64_t bytes) {
  cuda::DeviceGuard guard(device.index);
  void* pointer = nullptr;
  check_cuda(cudaMalloc(&pointer, static_cast<size_t>(bytes)), "cudaMalloc");
  return pointer;
}

void device_free(Device device, void* pointer) noexcept {
  if (pointer == nullptr) return;
  int previous = 0;
  cudaGetDevice(&previous);
  cudaSetDevice(device.index);
  cudaFree(pointer);
  cudaSetDevice(previous);
}

void device_copy(void* destination, Device destination_device, const void* source,
                 Device source_device, int64_t bytes) {
  const Device gpu = destination_device.is_cuda() ? destination_device : source_device;
  cuda::DeviceGuard guard(gpu.index);
  check_cuda(cudaMemcpy(destination, source, static_cast<size_t>(bytes), cudaMemcpyDefault),
             "cudaMemcpy");
}

void device_copy_2d(void* destination, int64_t destination_pitch, const void* source,
                    int64_t source_pitch, int64_t width, int64_t rows, Device device,
                    void* stream) {
  cuda::DeviceGuard guard(device.index);
  check_cuda(
      cudaMemcpy2DAsync(destination, static_cast<size_t>(destination_pitch), source,
                        static_cast<size_t>(source_pitch), static_cast<size_t>(width),
                        static_cast<size_t>(rows), cudaMemcpyDeviceToDevice, cuda::native(stream)),
      "cudaMemcpy2DAsync");
}

void device_add_bias(const TensorView& sum, const TensorView& bias, const TensorView& out,
                     void* stream) {
  cuda::DeviceGuard guard(out.device().index);
  cuda::Epilogue e;
  e.acc = sum.data();
  e.acc_type = ScalarType::fp32;
  e.rows = out.rows();
  e.cols = out.size(-1);
  e.acc_row_stride = e.cols;
  if (bias.defined()) {
    e.bias = bias.data();
    e.bias_type = bias.dtype();
  }
  e.out = out.data();
  e.out_type = out.dtype();
  cuda::run_epilogue(e, stream);
}

std::vector<Platform> detect_cuda_platforms() {
  int count = 0;
  // No driver or no device is not an error here: the machine simply has no CUDA platform.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return {};
  }
  std::vector<Platform> platforms;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp props{};
    check_cuda(cudaGetDeviceProperties(&props, i), "cudaGetDeviceProperties");
    Platform p;
    p.kind = PlatformKind::cuda;
    p.detected = true;
    p.device_index = i;
    p.device_name = props.name;
    p.compute_capability = props.major * 10 + props.minor;
    // The build carries sm_90a code, so the arch-specific features are usable on sm_90 parts.
    p.arch_specific = p.compute_capability == 90;
    p.sm_count = props.multiProcessorCount;
    platforms.push_back(p);
  }
  return platforms;
}

}  // namespace qlinear::detail
