// One thread per element of ŵ; this runs once per layer (or once per call when memory is short),
// so it favours one plain kernel for every family over speed.
#include <cuda_bf16.h>

#include <algorithm>

#include "cuda/dequant_weights.hpp"
#include "gpu/check.hpp"
#include "gpu/formats.cuh"

namespace qlinear::cuda {
namespace {

using T = ScalarType;

struct Params {
  const uint8_t* weight;
  T weight_type;
  int64_t n, k, row_stride;
  const uint8_t* scale;
  T scale_type;
  int64_t scale_cols;
  Granularity granularity;
  int64_t group_size, block_n;
  const uint8_t* zero_point;  // uint8 codes on the scale grid, or null
  const int32_t* g_idx;       // act order, or null
  const float* global;        // nvfp4, or null
  __nv_bfloat16* out;
};

__device__ uint32_t load_code(const uint8_t* base, T type, int64_t index) {
  switch (type) {
    case T::uint4b8:
    case T::uint4:
    case T::float4_e2m1f:
      return (base[index / 2] >> ((index % 2) * 4)) & 0xfu;
    case T::bf16:
    case T::fp16:
      return reinterpret_cast<const uint16_t*>(base)[index];
    case T::fp32:
      return reinterpret_cast<const uint32_t*>(base)[index];
    default:
      return base[index];
  }
}

__device__ float value_of(T type, uint32_t code) {
  switch (type) {
    case T::uint4b8:
      return static_cast<float>(static_cast<int>(code) - 8);
    case T::uint8b128:
      return static_cast<float>(static_cast<int>(code) - 128);
    case T::int8:
      return static_cast<float>(static_cast<int8_t>(code));
    case T::float8_e4m3fn:
      return detail::e4m3_value(code);
    case T::float4_e2m1f:
      return detail::e2m1_value(code);
    case T::float8_e8m0fnu:
      return code == 0xffu ? NAN : ldexpf(1.f, static_cast<int>(code) - 127);
    case T::bf16:
      return __uint_as_float(code << 16);
    case T::fp16:
      return __half2float(__ushort_as_half(static_cast<unsigned short>(code)));
    case T::fp32:
      return __uint_as_float(code);
    default:
      return static_cast<float>(code);  // uint4, uint8
  }
}

__global__ void dequantize(Params p) {
  const int64_t count = p.n * p.row_stride;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = i / p.row_stride, k = i % p.row_stride;
    if (k >= p.k) {
      p.out[i] = __float2bfloat16_rn(0.f);
      continue;
    }
    int64_t row = 0, group = 0;
    switch (p.granularity) {
      case Granularity::per_channel:
        row = n;
        break;
      case Granularity::per_group:
        row = n, group = p.g_idx ? p.g_idx[k] : k / p.group_size;
        break;
      case Granularity::block:
        row = n / p.block_n, group = k / p.group_size;
        break;
      default:
        break;
    }
    const int64_t s = row * p.scale_cols + group;
    float value = value_of(p.weight_type, load_code(p.weight, p.weight_type, n * p.k + k));
    if (p.zero_point) value -= static_cast<float>(p.zero_point[s]);
    value *= value_of(p.scale_type, load_code(p.scale, p.scale_type, s));
    if (p.global) value *= *p.global;
    p.out[i] = __float2bfloat16_rn(value);
  }
}

}  // namespace

void dequantize_weights_bf16(const LayerConfig& c, const LayerWeights& w, void* out,
                             int64_t row_stride, void* stream) {
  DeviceGuard guard(w.weight.device().index);
  Params p{};
  p.weight = static_cast<const uint8_t*>(w.weight.data());
  p.weight_type = c.weight_type;
  p.n = c.part_n();
  p.k = c.part_k();
  p.row_stride = row_stride;
  p.scale = static_cast<const uint8_t*>(w.weight_scale.data());
  p.scale_type = c.weight_scale_type;
  p.scale_cols = c.weight_scale_shape()[1];
  p.granularity = c.weight_scale;
  p.group_size = c.group_size;
  p.block_n = c.block_n;
  if (c.zero_points) p.zero_point = static_cast<const uint8_t*>(w.weight_zero_point.data());
  if (c.act_order) p.g_idx = w.g_idx.data_as<const int32_t>();
  if (c.has_global_scale()) p.global = w.weight_global_scale.data_as<const float>();
  p.out = static_cast<__nv_bfloat16*>(out);
  const int64_t count = p.n * row_stride;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((count + 255) / 256, 4096));
  if (blocks == 0) return;
  dequantize<<<blocks, 256, 0, native(stream)>>>(p);
  check_launch("dequantize_weights_bf16");
}

}  // namespace qlinear::cuda
