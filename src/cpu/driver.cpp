#include "cpu/driver.hpp"

#include <algorithm>

#include "cpu/convert.hpp"
#include "cpu/parallel.hpp"
#include "cpu/store_rows.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cpu {

Verdict runs_at(const Platform& platform, CpuIsa needed) {
  if (platform.kind != PlatformKind::cpu) return Verdict::no("runs on the CPU only");
  if (platform.cpu.isa < needed)
    return Verdict::no(
        cat("needs ISA level ", name(needed), "; this CPU offers ", name(platform.cpu.isa)));
  return Verdict::yes();
}

std::shared_ptr<const PreparedWeights> amx_weights_for(
    const Kernel& amx, const Kernel& other,
    const std::shared_ptr<const PreparedWeights>& prepared) {
  const bool vnni_of_family =
      other.info().provider == Provider::cpu &&
      other.name() == cat(name(amx.family()), "_", name(CpuIsa::avx512_vnni));
  return &other == &amx || vnni_of_family ? prepared : nullptr;
}

Verdict runs_with_vnni(const Platform& platform) {
  if (platform.kind != PlatformKind::cpu) return Verdict::no("runs on the CPU only");
  if (platform.cpu.isa >= CpuIsa::avx512_vnni ||
      (platform.cpu.isa >= CpuIsa::avx512 && platform.cpu.avx512_vnni))
    return Verdict::yes();
  return Verdict::no(cat("needs AVX-512 with VNNI (ISA level avx512_vnni, or avx512 with VNNI); ",
                         "this CPU offers ", name(platform.cpu.isa), " without VNNI"));
}

void for_each_tile(int64_t tiles, int64_t width, int64_t blocks, int64_t chunk_blocks,
                   const std::function<void(int64_t, int64_t, int64_t)>& body) {
  const int64_t calls = (tiles + width - 1) / width;
  for (int64_t chunk = 0; chunk < blocks; chunk += chunk_blocks) {
    const int64_t chunk_end = std::min(blocks, chunk + chunk_blocks);
    // Four tiles per hand-out, whatever the width, so that narrow layers still spread.
    parallel_for(calls, std::max<int64_t>(1, 4 / width), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) body(c * width, chunk, chunk_end);
    });
  }
}

void store_tile(CpuIsa isa, const float* y, int64_t tiles, const float* row_scale, int64_t row0,
                int64_t rows, int64_t col0, const TensorView& bias, const TensorView& out) {
  const int64_t n = out.shape()[out.ndim() - 1];
  const int64_t cols = std::min(tiles * kTileN, n - col0);
  float bias_values[2 * kTileN];
  for (int64_t j = 0; j < cols && bias.defined(); ++j)
    bias_values[j] = load_float(bias.data(), bias.dtype(), col0 + j);
  void* at = static_cast<uint8_t*>(out.data()) + storage_bytes(out.dtype(), row0 * n + col0);
  const TileRows tile{y,  tiles, row_scale,  bias.defined() ? bias_values : nullptr, rows, cols,
                      at, n,     out.dtype()};
  (isa >= CpuIsa::avx512 ? store_rows_avx512 : store_rows_scalar)(tile);
}

}  // namespace qlinear::cpu
