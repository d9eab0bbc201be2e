// The mixed-input kernels' weights packed on the GPU at load (issue 17: on the host, one thread
// per layer took about 40 s for a llama3-8b int4 checkpoint): each thread makes one lane's four
// words of a (row tile, k-block) by the host model's own functions (cuda/detail/fragments.hpp).
// CUDA-free header.
#pragma once

#include <cstdint>

#include "cuda/detail/fragments.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear::cuda {

// The codes of W in `layout`, [padded_n / 16, padded_k / block_k, 32 lanes, 4 words] as int32 on
// `device`; `code.stored` and `code.order` point into that device's memory. Returns when the
// words are written.
Tensor pack_fragments_on(Device device, detail::FragmentLayout layout, int64_t padded_n,
                         int64_t padded_k, const detail::StoredCodes& code);

}  // namespace qlinear::cuda
