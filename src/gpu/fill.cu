#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>

#include "gpu/check.hpp"
#include "gpu/fill.hpp"

namespace qlinear::cuda {
namespace {

__global__ void fill(uint8_t* p, int64_t count, uint64_t seed, ScalarType type, bool positive) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint64_t z = (static_cast<uint64_t>(i) + 1) * 0x9e3779b97f4a7c15ull + seed;  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const float u = static_cast<float>(z >> 40) * 0x1p-24f;  // [0, 1)
    const float v = positive ? 0.01f + 0.002f * u : 4.f * u - 2.f;
    switch (type) {
      case ScalarType::bf16:
        reinterpret_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
        break;
      case ScalarType::fp16:
        reinterpret_cast<__half*>(p)[i] = __float2half_rn(v);
        break;
      case ScalarType::fp32:
        reinterpret_cast<float*>(p)[i] = v;
        break;
      case ScalarType::float8_e4m3fn:
        p[i] = __nv_cvt_float_to_fp8(100.f * v, __NV_SATFINITE, __NV_E4M3);
        break;
      default:
        p[i] = static_cast<uint8_t>(z);
        break;
    }
  }
}

}  // namespace

void fill_random(const TensorView& t, uint64_t seed, bool positive, void* stream) {
  DeviceGuard guard(t.device().index);
  const bool bytes = info(t.dtype()).bits <= 8 && t.dtype() != ScalarType::float8_e4m3fn;
  const int64_t count = bytes ? t.nbytes() : t.numel();
  if (count == 0) return;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((count + 255) / 256, 4096));
  fill<<<blocks, 256, 0, native(stream)>>>(static_cast<uint8_t*>(t.data()), count, seed, t.dtype(),
                                           positive);
  check_launch("fill_random");
}

}  // namespace qlinear::cuda
