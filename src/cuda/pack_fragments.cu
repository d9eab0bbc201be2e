#include <cuda_runtime.h>

#include <algorithm>

#include "cuda/pack_fragments.hpp"
#include "gpu/check.hpp"

namespace qlinear::cuda {
namespace {

using detail::FragmentLayout;
using detail::StoredCodes;

// Thread i writes lane i % 32 of (tile, k-block) i / 32: one 16-byte store, consecutive lanes
// consecutive, as the kernels load them.
template <FragmentLayout kLayout>
__global__ void pack_fragments_kernel(const StoredCodes code, int64_t kblocks, int64_t lanes,
                                      uint4* out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < lanes;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t tile_block = i / 32;
    uint32_t w[4];
    detail::fragment_words(kLayout, tile_block / kblocks, tile_block % kblocks,
                           static_cast<int>(i % 32), code, w);
    out[i] = make_uint4(w[0], w[1], w[2], w[3]);
  }
}

}  // namespace

Tensor pack_fragments_on(Device device, FragmentLayout layout, int64_t padded_n, int64_t padded_k,
                         const StoredCodes& code) {
  const int64_t kblocks = padded_k / detail::block_k(layout);
  const int64_t lanes = padded_n / detail::kRowsPerTile * kblocks * 32;
  Tensor packed = Tensor::empty(ScalarType::int32, {lanes * 4}, device);
  if (lanes == 0) return packed;
  DeviceGuard guard(device.index);
  constexpr int kThreads = 256;
  const auto blocks =
      static_cast<unsigned>(std::min<int64_t>((lanes + kThreads - 1) / kThreads, 1 << 20));
  auto* out = packed.data_as<uint4>();
  switch (layout) {
    case FragmentLayout::bits4:
      pack_fragments_kernel<FragmentLayout::bits4><<<blocks, kThreads>>>(code, kblocks, lanes, out);
      break;
    case FragmentLayout::bits8:
      pack_fragments_kernel<FragmentLayout::bits8><<<blocks, kThreads>>>(code, kblocks, lanes, out);
      break;
    case FragmentLayout::s8:
      pack_fragments_kernel<FragmentLayout::s8><<<blocks, kThreads>>>(code, kblocks, lanes, out);
      break;
  }
  check_launch("pack_fragments_kernel");
  // The codes (and a staged copy of them) may be freed once this returns.
  check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
  return packed;
}

}  // namespace qlinear::cuda
