#include "cpu/driver.hpp"

#include <algorithm>

#include "cpu/convert.hpp"
#include "cpu/parallel.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cpu {

Verdict runs_at(const Platform& platform, CpuIsa needed) {
  if (platform.kind != PlatformKind::cpu) return Verdict::no("runs on the CPU only");
  if (platform.cpu.isa < needed)
    return Verdict::no(
        cat("needs ISA level ", name(needed), "; this CPU offers ", name(platform.cpu.isa)));
  return Verdict::yes();
}

void for_each_tile(int64_t tiles, int64_t blocks, int64_t chunk_blocks,
                   const std::function<void(int64_t, int64_t, int64_t)>& body) {
  for (int64_t chunk = 0; chunk < blocks; chunk += chunk_blocks) {
    const int64_t chunk_end = std::min(blocks, chunk + chunk_blocks);
    parallel_for(tiles, 4, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) body(t, chunk, chunk_end);
    });
  }
}

void store_tile(const float* y, const float* row_scale, int64_t row0, int64_t rows, int64_t col0,
                const TensorView& bias, const TensorView& out) {
  const int64_t n = out.shape()[out.ndim() - 1];
  const int64_t cols = std::min(kTileN, n - col0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      float v = y[r * kTileN + j];
      if (row_scale) v *= row_scale[r];
      if (bias.defined()) v += load_float(bias.data(), bias.dtype(), col0 + j);
      store_float(out.data(), out.dtype(), (row0 + r) * n + col0 + j, v);
    }
}

}  // namespace qlinear::cpu
