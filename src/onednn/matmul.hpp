// Thin wrappers over oneDNN matmul (Debian's libdnnl 2.6): the CPU engine, and a matmul whose
// weights are packed once into oneDNN's blocked layout and whose primitives are cached per M (and
// per width of a column slice).
//
// NOTES:
// - Every primitive runs with a user scratchpad (one per calling thread). oneDNN's default
//   "library" scratchpad is shared between primitives unless the library was built with
//   DNNL_ENABLE_CONCURRENT_EXEC, so running one layer from several threads would race.
// - oneDNN 2.6 int8 semantics: dst = output_scale[n] · (Σ src·wei + bias[n]); the bias is added
//   in the accumulator domain, before the scale (probed on this build, see bench/NOTES.md).
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace qlinear::onednn {

using dt = dnnl::memory::data_type;

// The CPU engine, created once. When QLINEAR_CPU_ISA caps the host below its real level, oneDNN's
// own ISA is capped to match, so that forcing a level also forces oneDNN's code path.
const dnnl::engine& engine();

struct MatmulSpec {
  dt src = dt::s8, wei = dt::s8, dst = dt::s32;
  int64_t n = 0, k = 0;
  // Output scales: empty for none; 1 or n constant values fixed at primitive creation.
  std::vector<float> constant_scales;
  bool runtime_scales = false;  // n per-N scales given with each call instead (f32)
  bool bias = false;            // an f32 bias [n] given with each call
};

// y[M, N] = x[M, K] · W[N, K]ᵀ through oneDNN, W packed once. Thread-safe.
class PackedMatmul {
 public:
  // `weight` is W [N, K] row-major of spec.wei type on the host; it is read, not kept.
  PackedMatmul(MatmulSpec spec, const void* weight);

  // src [m, K] of spec.src, dst [m, N] of spec.dst, both row-major and contiguous. `bias` and
  // `scales` are f32 [N] where the spec asks for them, else null.
  void run(int64_t m, const void* src, void* dst, const float* bias = nullptr,
           const float* scales = nullptr) const;

  // y[:, n0 : n0 + n] alone into dst [m, n] (row-major, contiguous): the matmul over a slice of
  // the packed weights, no copy. n0 is a multiple of column_block(); specs without scales or bias.
  void run_columns(int64_t m, int64_t n0, int64_t n, const void* src, void* dst) const;
  // The N granularity of run_columns: 64 when the packed layout is BA16a64b4a (blocks of 64
  // columns outermost, nothing appended: u8 sources, no s8s8 compensation), else 0 (no slices).
  int64_t column_block() const { return column_block_; }

  const MatmulSpec& spec() const { return spec_; }
  int64_t packed_bytes() const { return static_cast<int64_t>(weights_.get_desc().get_size()); }
  // oneDNN's implementation for M rows, e.g. "brg:avx512_core_vnni".
  std::string implementation(int64_t m) const;

 private:
  struct Primitive {
    dnnl::matmul matmul;
    dnnl::memory::desc src, weights, dst, scratchpad;
    std::string implementation;
  };
  dnnl::matmul::primitive_desc describe(int64_t m, int64_t n,
                                        const dnnl::memory::desc& weights) const;
  // The primitive for M rows and n output columns (n < N: a column slice).
  const Primitive& primitive(int64_t m, int64_t n) const;
  void execute(const Primitive& p, const dnnl::memory& weights, const void* src, void* dst,
               const float* bias, const float* scales) const;

  MatmulSpec spec_;
  dnnl::memory weights_;  // packed, in the layout every cached primitive takes
  int64_t column_block_ = 0;
  int64_t column_block_bytes_ = 0;  // bytes of weights_ per block of columns
  mutable std::shared_mutex mutex_;
  mutable std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Primitive>> by_shape_;
};

// A per-thread buffer of at least `bytes` bytes, 64-byte aligned, reused across calls (so that
// large intermediates are not faulted in on every call). `slot` tells apart buffers needed at
// the same time: 0..kThreadBufferSlots-1, the last one is the matmul's scratchpad.
inline constexpr int kThreadBufferSlots = 6;
void* thread_buffer(int slot, int64_t bytes);

}  // namespace qlinear::onednn
