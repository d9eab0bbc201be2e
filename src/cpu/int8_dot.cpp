// The cpu provider's integer dot-product kernels: int8_scaled_mm (W8A8) and w4a8_int (int4
// weights as int8, int8 per-token activations). x is quantized exactly as the reference prescribes
// (qlinear/reference.hpp), then every tile takes exact int32 sums (int8_tile.hpp), converted to
// fp32 once per weight segment:
//
//   y[m, n] = s_x[m] · Σ_segments s_w[n, seg] · (Σ_k (q[m,k] - z[m]) · w[n,k])  (+ bias[n])
//
// Work partition as in mixed_precision.cpp: blocks of 8 rows in chunks kept in cache, tiles of 16
// columns spread over the cores. The _amx kernels run their AMX tiles, which read x row-major
// (amx_layout.hpp), at every M; their packing serves the _avx512_vnni tiles too, so the composite
// plans that run the VNNI kernel for a few rows share it (weights_for).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

#include "core/host_memory.hpp"
#include "cpu/amx_layout.hpp"
#include "cpu/driver.hpp"
#include "cpu/int8_tile.hpp"
#include "cpu/kernels.hpp"
#include "cpu/parallel.hpp"
#include "cpu/transpose_elements.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cpu {
namespace {

static_assert(kInt8TileN == kTileN && kInt8TileRows == kBlockRows, "tiles follow driver.hpp");

constexpr int64_t kMaxK = 65536;  // keeps |Σ u·w| below 2^31 (255 · 128 · K)

// K positions [source, source + count) of x land at [target, target + count) of the padded row.
struct Run {
  int64_t source, target, count;
};

struct Packed final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  detail::HostMemory weights;            // [tiles][tile_bytes], every byte written
  std::vector<int32_t> segment_lengths;  // padded to multiples of kInt8SegmentAlign
  std::vector<Run> runs;                 // where x's K positions land in the padded K
  int64_t padded_k = 0;                  // Kp: K with every segment padded
  int code_bits = 8;
  int64_t tiles = 0, tile_bytes = 0;
  float input_scale = 0;
  int32_t input_zero_point = 0;
};

// Weight value of column n at K position k: int8 as is, uint4b8 as code - 8.
int8_t weight_at(const LayerConfig& c, const uint8_t* weight, int64_t n, int64_t k) {
  const int64_t kk = c.part_k();
  if (c.weight_type == ScalarType::int8) return static_cast<int8_t>(weight[n * kk + k]);
  const uint8_t byte = weight[n * (kk / 2) + k / 2];
  return static_cast<int8_t>((k % 2 ? byte >> 4 : byte & 0xf) - 8);
}

// The sum of `count` weight values of one column from its canonical codes at `codes` (`bits` a
// code): int8 as is, 4-bit codes less 8 (count even). Loops the compiler vectorizes.
int32_t code_sum(const uint8_t* codes, int64_t count, int bits) {
  int32_t sum = 0;
  if (bits == 8) {
    for (int64_t i = 0; i < count; ++i) sum += static_cast<int8_t>(codes[i]);
    return sum;
  }
  for (int64_t i = 0; i < count / 2; ++i) sum += (codes[i] & 0xf) + (codes[i] >> 4);
  return sum - 8 * static_cast<int32_t>(count);
}

// x quantized to u = q + 128 in the layout the tiles read, with each row's scale and shift.
struct QuantizedX {
  std::vector<uint8_t> codes;  // [blocks][Kp / 4][8][4], or row-major [rows][Kp] for the _amx tiles
  std::vector<float> scale;    // [blocks * 8]
  std::vector<int32_t> shift;  // [blocks * 8]: 128 + zero point
};

// The ISA's activation routines.
struct ActivationFns {
  RowStatsFn stats;
  QuantizeRowFn quantize;
};

int type_code(ScalarType t) { return t == ScalarType::bf16 ? 0 : t == ScalarType::fp16 ? 1 : 2; }

// A dynamic scale and zero point from the statistics of the values it covers (see reference.hpp).
void dynamic_scale(const LayerConfig& c, RowStats s, float& scale, float& zero) {
  if (c.act_zero_points) {
    scale = (s.hi - s.lo) / 255.f;
    if (scale == 0) scale = 1.f;
    zero = std::nearbyint(-128.f - s.lo / scale);
  } else {
    scale = s.amax > 0 ? s.amax / 127.f : 1.f;
    zero = 0;
  }
}

QuantizedX quantize(const Packed& p, const TensorView& x, ActivationFns fns, bool row_major) {
  const LayerConfig& c = p.config();
  const int64_t m = x.rows(), k = c.part_k();
  const int64_t kp = p.padded_k;
  const int64_t blocks = (m + kBlockRows - 1) / kBlockRows;
  const int type = type_code(c.act_type);
  const int64_t element = info(c.act_type).bits / 8;
  const auto* x_bytes = static_cast<const uint8_t*>(x.data());
  QuantizedX q;
  // Row-major rows padded to a multiple of kAmxRowBlock with zero activations (u = 128).
  const int64_t rows = row_major ? (m + kAmxRowBlock - 1) / kAmxRowBlock * kAmxRowBlock : 0;
  q.codes.assign(static_cast<size_t>(std::max(rows, blocks * kBlockRows) * kp), uint8_t{128});
  q.scale.assign(static_cast<size_t>(blocks * kBlockRows), 0.f);
  q.shift.assign(static_cast<size_t>(blocks * kBlockRows), 128);

  float tensor_scale = p.input_scale, tensor_zero = static_cast<float>(p.input_zero_point);
  if (!c.act_scale_static && c.act_scale == Granularity::per_tensor) {
    RowStats all = fns.stats(x_bytes, type, k);
    for (int64_t row = 1; row < m; ++row) {
      const RowStats s = fns.stats(x_bytes + row * k * element, type, k);
      all = {std::min(all.lo, s.lo), std::max(all.hi, s.hi), std::max(all.amax, s.amax)};
    }
    dynamic_scale(c, all, tensor_scale, tensor_zero);
  }
  const bool per_row = c.act_scale == Granularity::per_token;
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<uint8_t> line(static_cast<size_t>(kp));
    for (int64_t b = b0; b < b1; ++b) {
      uint8_t* block = q.codes.data() + b * kBlockRows * kp;
      for (int64_t r = 0; r < kBlockRows; ++r) {
        const int64_t row = b * kBlockRows + r;
        std::fill(line.begin(), line.end(), uint8_t{128});  // padding and rows past M: q = 0
        if (row < m) {
          const uint8_t* x_row = x_bytes + row * k * element;
          float scale = tensor_scale, zero = tensor_zero;
          if (per_row) dynamic_scale(c, fns.stats(x_row, type, k), scale, zero);
          q.scale[row] = scale;
          q.shift[row] = 128 + static_cast<int32_t>(zero);
          for (const Run& run : p.runs)
            fns.quantize(x_row + run.source * element, type, run.count, scale, zero,
                         line.data() + run.target);
        }
        if (row_major)
          std::memcpy(q.codes.data() + row * kp, line.data(), static_cast<size_t>(kp));
        else
          for (int64_t i = 0; i < kp; i += 4)
            std::memcpy(block + i * kBlockRows + r * 4, line.data() + i, 4);
      }
    }
  });
  return q;
}

// The tile functions of a kernel for one layout of x.
struct Int8Tiles {
  Int8TileFn single;
  Int8TileFn pair = nullptr;  // two adjacent tiles in one call, or null: one at a time
  bool row_major_x = false;   // the _amx tiles (amx_layout.hpp); else blocks of 8 rows
};

class Int8DotKernel final : public Kernel {
 public:
  // `isa`: the level the kernel needs (the _amx_model kernels: avx512_vnni, with AMX tiles).
  Int8DotKernel(Family family, CpuIsa isa, std::string name, Int8Tiles tiles,
                ActivationFns activation)
      : info_{std::move(name), Provider::cpu, family},
        isa_(isa),
        tiles_(tiles),
        activation_(activation),
        code_bits_(family == Family::w4a8_int && isa >= CpuIsa::avx512_vnni ? 4 : 8) {}

  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& platform) const override {
    return isa_ == CpuIsa::avx512_vnni ? runs_with_vnni(platform) : runs_at(platform, isa_);
  }

  Verdict can_implement(const LayerConfig& c) const override {
    if (c.part_k() > kMaxK)
      return Verdict::no(cat("K (", c.part_k(), ") above ", kMaxK, ": int32 sums could overflow"));
    return Verdict::yes();
  }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device device) const override {
    require(device.is_cpu(), name(), ": weights must be on the CPU, not ", device.str());
    auto p = std::make_shared<Packed>(c);
    const int64_t n = c.part_n(), k = c.part_k();
    const int64_t group = c.weight_scale == Granularity::per_group ? c.group_size : k;
    // The _amx tiles step through K up to 64 positions at a time (amx_layout.hpp).
    const int64_t align = tiles_.row_major_x && group == k ? kAmxInt8KStep : kInt8SegmentAlign;
    for (int64_t k0 = 0; k0 < k; k0 += group) {
      const int64_t padded = (group + align - 1) / align * align;
      p->runs.push_back({k0, p->padded_k, std::min(group, k - k0)});
      p->segment_lengths.push_back(static_cast<int32_t>(padded));
      p->padded_k += padded;
    }
    const auto segments = static_cast<int64_t>(p->segment_lengths.size());
    p->tiles = (n + kTileN - 1) / kTileN;
    p->code_bits = code_bits_;
    p->tile_bytes = p->padded_k * kTileN * code_bits_ / 8 + segments * 128;
    const auto bytes = static_cast<size_t>(p->tiles * p->tile_bytes);
    p->weights = detail::layer_alloc(bytes);
    // Nibbles hold value + 8: 0x88 is two zero weights, for the padding.
    const uint8_t pad = code_bits_ == 4 ? 0x88 : 0;
    const auto* weight = w.weight.data_as<const uint8_t>();
    const int64_t scale_columns = c.weight_scale_shape()[1];
    // A quad of K positions of a column is one unit of the tiles' layout (4 bytes of int8 codes,
    // 2 of 4-bit ones, the canonical bytes as they lie), so where every run is whole quads a
    // segment's rows are the canonical units of its 16 columns, transposed (transpose_block:
    // AVX-512 register tiles for the 4-byte units); else one code at a time. 4096 x 4096 on this
    // CPU (both threads): int8 0.66 -> 0.10 ns a weight, 4-bit 1.30 -> 0.13 (bench/NOTES.md).
    const int unit_bytes = code_bits_ / 2;
    const bool quad_runs = qlinear::info(c.weight_type).bits == code_bits_ && k % 4 == 0 &&
                           group % 4 == 0 && reinterpret_cast<uintptr_t>(weight) % unit_bytes == 0;
    const int64_t row_bytes = k * code_bits_ / 8;  // of one column's canonical codes
    // Every byte of the buffer is written below, so it is mapped ahead and taken in blocks of
    // whole tiles of about a huge page a thread, as the dequant kernels' packing does
    // (mixed_precision.cpp).
    populate_in_parallel(p->weights.get(), bytes, true);
    const int64_t block_tiles = tiles_per_huge_page(p->tiles, p->tile_bytes);
    parallel_for(p->tiles, block_tiles, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        uint8_t* out = p->weights.get() + t * p->tile_bytes;
        const auto columns = std::min<int64_t>(kTileN, n - t * kTileN);
        for (int64_t s = 0; s < segments; ++s) {
          const int64_t length = p->segment_lengths[s];
          const int64_t count = std::min(length, group);
          const int64_t code_bytes = length * kTileN * code_bits_ / 8;
          int32_t colsums[kTileN] = {};
          float scales[kTileN] = {};
          // Padding (positions past the run, columns past N) and the code-at-a-time path start
          // from zero weights; the transpose writes the rest.
          if (!quad_runs || count < length || columns < kTileN)
            std::memset(out, pad, static_cast<size_t>(code_bytes));
          if (quad_runs)
            transpose_block(reinterpret_cast<const std::byte*>(weight + t * kTileN * row_bytes +
                                                               s * group * code_bits_ / 8),
                            columns, count / 4, row_bytes / unit_bytes, unit_bytes,
                            reinterpret_cast<std::byte*>(out), kTileN);
          for (int64_t j = 0; j < columns; ++j) {
            const int64_t col = t * kTileN + j;
            if (quad_runs) {
              colsums[j] = code_sum(weight + col * row_bytes + s * group * code_bits_ / 8, count,
                                    code_bits_);
            } else {
              for (int64_t i = 0; i < count; ++i) {
                const int8_t v = weight_at(c, weight, col, s * group + i);
                colsums[j] += v;
                if (code_bits_ == 8) {
                  out[(i / 4) * 4 * kTileN + j * 4 + i % 4] = static_cast<uint8_t>(v);
                } else {
                  uint8_t& byte = out[(i / 4) * 2 * kTileN + j * 2 + (i % 4) / 2];
                  const int shift = 4 * (i % 2);
                  byte = static_cast<uint8_t>((byte & ~(0xf << shift)) | ((v + 8) << shift));
                }
              }
            }
            const int64_t scale_index =
                c.weight_scale == Granularity::per_tensor ? 0 : col * scale_columns + s;
            scales[j] = static_cast<float>(load_value(w.weight_scale, scale_index));
          }
          out += code_bytes;
          std::memcpy(out, colsums, sizeof colsums);
          std::memcpy(out + sizeof colsums, scales, sizeof scales);
          out += 128;
        }
      }
    });
    if (w.input_scale.defined()) p->input_scale = *w.input_scale.data_as<const float>();
    if (w.input_zero_point.defined())
      p->input_zero_point = *w.input_zero_point.data_as<const int32_t>();
    return p;
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream) const override {
    const auto& p = static_cast<const Packed&>(prepared);
    const int64_t m = x.rows();
    const int64_t kp = p.padded_k;
    const Int8Tiles& tiles = tiles_;
    const QuantizedX q = quantize(p, x, activation_, tiles.row_major_x);
    const int64_t blocks = (m + kBlockRows - 1) / kBlockRows;
    Int8TileArgs a{};
    a.code_bits = p.code_bits;
    a.segment_lengths = p.segment_lengths.data();
    a.segments = static_cast<int64_t>(p.segment_lengths.size());
    a.tile_bytes = p.tile_bytes;
    a.x_row_stride = kp;
    const int64_t width = tiles.pair ? 2 : 1;  // tiles per call
    for_each_tile(p.tiles, width, blocks, kInt8ChunkRows / kBlockRows,
                  [&](int64_t t, int64_t b0, int64_t b1) {
                    float y[2 * kInt8ChunkRows * kTileN];
                    const int64_t count = std::min(width, p.tiles - t);  // the last may get one
                    Int8TileArgs args = a;
                    args.weights = p.weights.get() + t * p.tile_bytes;
                    // Both layouts put the chunk's first row at b0 · 8 · Kp.
                    args.x = q.codes.data() + b0 * kBlockRows * kp;
                    args.x_block_stride = kBlockRows * kp;
                    args.shift = q.shift.data() + b0 * kBlockRows;
                    args.rows = std::min(b1 * kBlockRows, m) - b0 * kBlockRows;
                    args.y = y;
                    (count == 2 ? tiles.pair : tiles.single)(args);
                    store_tile(isa_, y, count, q.scale.data() + b0 * kBlockRows, b0 * kBlockRows,
                               args.rows, t * kTileN, bias, out);
                  });
  }

  // Integer sums are exact; then per segment one conversion to fp32 and one fused multiply-add
  // with the weight scale (the segment sums add up: one more rounding each), one multiply by the
  // activation scale, one bias addition, and the rounding to out_type.
  double tolerance(const LayerConfig& c) const override {
    return unit_roundoff(c.out_type) +
           static_cast<double>(2 * c.weight_groups_k() + 3) * unit_roundoff(ScalarType::fp32);
  }

 private:
  std::shared_ptr<const PreparedWeights> weights_for(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const override {
    return tiles_.row_major_x ? amx_weights_for(*this, other, prepared)
                              : Kernel::weights_for(other, prepared);
  }

  KernelInfo info_;
  CpuIsa isa_;
  Int8Tiles tiles_;
  ActivationFns activation_;
  int code_bits_;  // 4: int4 weights stay nibbles (the VNNI tile widens them in registers)
};

constexpr ActivationFns kScalarActivations{row_stats_scalar, quantize_row_scalar};
constexpr ActivationFns kAvx512Activations{row_stats_avx512, quantize_row_avx512};
constexpr Int8Tiles kVnniTiles{int8_tile_avx512_vnni, int8_tile_pair_avx512_vnni};

std::shared_ptr<const Kernel> make_kernel(Family family, CpuIsa isa) {
  const std::string kernel_name = cat(name(family), "_", name(isa));
  switch (isa) {
    case CpuIsa::scalar:
      return std::make_shared<Int8DotKernel>(family, isa, kernel_name, Int8Tiles{int8_tile_scalar},
                                             kScalarActivations);
    case CpuIsa::avx2:
      return std::make_shared<Int8DotKernel>(family, isa, kernel_name, Int8Tiles{int8_tile_avx2},
                                             kScalarActivations);
    case CpuIsa::avx512_vnni:
      return std::make_shared<Int8DotKernel>(family, isa, kernel_name, kVnniTiles,
                                             kAvx512Activations);
    case CpuIsa::amx:
      return std::make_shared<Int8DotKernel>(family, isa, kernel_name,
                                             Int8Tiles{int8_tile_amx, int8_tile_pair_amx, true},
                                             kAvx512Activations);
    case CpuIsa::avx512:
      break;
  }
  throw Error(cat(name(family), ": no cpu kernel for ISA level ", name(isa)));
}

}  // namespace

std::shared_ptr<const Kernel> make_int8_amx_model_kernel(Family family) {
  return std::make_shared<Int8DotKernel>(
      family, CpuIsa::avx512_vnni, cat(name(family), "_amx_model"),
      Int8Tiles{int8_tile_amx_model, int8_tile_pair_amx_model, true}, kAvx512Activations);
}

std::shared_ptr<const Kernel> make_int8_scaled_mm_kernel(CpuIsa isa) {
  return make_kernel(Family::int8_scaled_mm, isa);
}

std::shared_ptr<const Kernel> make_w4a8_int_kernel(CpuIsa isa) {
  return make_kernel(Family::w4a8_int, isa);
}

}  // namespace qlinear::cpu
