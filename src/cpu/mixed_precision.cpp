// The cpu provider's mixed-precision (W4A16 / W8A16) kernels: the packing and the driver, shared
// by every ISA level; the inner tile is per ISA (mixed_precision_<isa>.cpp).
//
// Work partition (one call):
//
//   x [M, K] --gather into segment order, pad--> xs [M, Kp] (fp32, or bf16 for _vnni)
//   for each chunk of up to kRowChunk rows of xs (kept in L2 across tiles):
//     parallel over N tiles of 16 columns:
//       for each block of up to 8 rows: tile(rows, 16 columns, all of Kp) -> fp32 -> epilogue
//
// The weights stream once per row chunk, so at small M the layer reads each packed byte once.
// Segments (see mixed_precision_tile.hpp) carry act order: K is permuted once at load so that each
// g_idx group is contiguous, and x is gathered through the same permutation on every call.
#include <algorithm>
#include <numeric>
#include <vector>

#include "cpu/convert.hpp"
#include "cpu/driver.hpp"
#include "cpu/kernels.hpp"
#include "cpu/mixed_precision_tile.hpp"
#include "cpu/parallel.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cpu {
namespace {

static_assert(kMixedTileN == kTileN && kMixedTileRows == kBlockRows, "tiles follow tiling.hpp");

constexpr int64_t kSegmentAlign = 4;  // tiles step through K four positions at a time
constexpr int64_t kRowChunk = 64;

struct Packed final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  std::vector<uint8_t> weights;          // [tiles][tile_bytes]
  std::vector<int32_t> segment_lengths;  // padded
  std::vector<int32_t> source_k;         // [Kp]: K position of x each padded position reads, -1 = 0
  int64_t tiles = 0, tile_bytes = 0;
  int bits = 4;
  bool zero_points = false;
  int32_t code_offset = 0;
};

// The K positions of each segment, in order, and the scale column each one uses.
struct Segment {
  int64_t scale_column;
  std::vector<int64_t> positions;
};

std::vector<Segment> segments_of(const LayerConfig& c, const LayerWeights& w) {
  const int64_t k = c.part_k();
  std::vector<Segment> segments;
  if (c.weight_scale == Granularity::per_channel) {
    segments.push_back({0, std::vector<int64_t>(static_cast<size_t>(k))});
    std::iota(segments[0].positions.begin(), segments[0].positions.end(), 0);
    return segments;
  }
  const int64_t groups = c.weight_groups_k();
  segments.resize(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) segments[g].scale_column = g;
  const auto* g_idx = c.act_order ? w.g_idx.data_as<const int32_t>() : nullptr;
  for (int64_t i = 0; i < k; ++i)
    segments[g_idx ? g_idx[i] : i / c.group_size].positions.push_back(i);
  std::erase_if(segments, [](const Segment& s) { return s.positions.empty(); });
  return segments;
}

uint8_t code_at(const LayerConfig& c, const uint8_t* weight, int64_t n, int64_t k) {
  const int64_t kk = c.part_k();
  if (info(c.weight_type).bits == 4) {
    const uint8_t byte = weight[n * (kk / 2) + k / 2];
    return k % 2 ? byte >> 4 : byte & 0xf;
  }
  const uint8_t byte = weight[n * kk + k];
  return c.weight_type == ScalarType::int8 ? byte ^ 0x80 : byte;  // int8 v -> unsigned v + 128
}

class MixedPrecisionKernel final : public Kernel {
 public:
  MixedPrecisionKernel(CpuIsa isa, MixedTileFn tile)
      : info_{cat("mixed_precision_", qlinear::name(isa)), Provider::cpu, Family::mixed_precision},
        isa_(isa),
        tile_(tile),
        bf16_x_(isa == CpuIsa::avx512_vnni) {}

  const KernelInfo& info() const override { return info_; }

  Verdict supported(const Platform& platform) const override { return runs_at(platform, isa_); }

  Verdict can_implement(const LayerConfig& c) const override {
    // vdpbf16ps multiplies bf16 pairs: exact for bf16 activations only.
    if (bf16_x_ && c.act_type != ScalarType::bf16)
      return Verdict::no(cat("act_type ", qlinear::name(c.act_type),
                             " is not exact in bf16; this kernel takes bf16 activations"));
    if (c.part_k() > (int64_t{1} << 30)) return Verdict::no(cat("K (", c.part_k(), ") above 2^30"));
    return Verdict::yes();
  }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device device) const override {
    require(device.is_cpu(), name(), ": weights must be on the CPU, not ", device.str());
    auto p = std::make_shared<Packed>(c);
    const int64_t n = c.part_n();
    const auto* weight = w.weight.data_as<const uint8_t>();
    p->bits = qlinear::info(c.weight_type).bits;
    p->zero_points = c.zero_points;
    p->code_offset = c.zero_points ? 0 : static_cast<int32_t>(qlinear::info(c.weight_type).bias);
    if (c.weight_type == ScalarType::int8) p->code_offset = 128;

    const std::vector<Segment> segments = segments_of(c, w);
    for (const Segment& s : segments) {
      const auto length = static_cast<int64_t>(s.positions.size());
      const int64_t padded = (length + kSegmentAlign - 1) / kSegmentAlign * kSegmentAlign;
      p->segment_lengths.push_back(static_cast<int32_t>(padded));
      p->source_k.insert(p->source_k.end(), s.positions.begin(), s.positions.end());
      p->source_k.insert(p->source_k.end(), static_cast<size_t>(padded - length), -1);
    }
    const int64_t extras = kMixedTileN * 4 + (c.zero_points ? kMixedTileN : 0);  // scales, zps
    p->tiles = (n + kMixedTileN - 1) / kMixedTileN;
    p->tile_bytes = 0;
    for (int32_t length : p->segment_lengths)
      p->tile_bytes += length * kMixedTileN * p->bits / 8 + extras;
    p->weights.assign(static_cast<size_t>(p->tiles * p->tile_bytes), 0);

    const int64_t scale_columns = c.weight_scale_shape()[1];
    const auto pad_code = static_cast<uint8_t>(c.zero_points ? 0 : p->code_offset);
    parallel_for(p->tiles, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        uint8_t* out = p->weights.data() + t * p->tile_bytes;
        for (size_t s = 0; s < segments.size(); ++s) {
          const std::vector<int64_t>& pos = segments[s].positions;
          const int64_t length = p->segment_lengths[s];
          for (int64_t j = 0; j < kMixedTileN; ++j) {
            const int64_t row = t * kMixedTileN + j;
            for (int64_t i = 0; i < length; ++i) {
              const uint8_t code = row < n && i < static_cast<int64_t>(pos.size())
                                       ? code_at(c, weight, row, pos[i])
                                       : pad_code;
              if (p->bits == 4)
                out[(i / 2) * kMixedTileN + j] |= static_cast<uint8_t>(code << (i % 2 ? 4 : 0));
              else
                out[i * kMixedTileN + j] = code;
            }
          }
          out += length * kMixedTileN * p->bits / 8;
          auto* scales = reinterpret_cast<float*>(out);  // byte-aligned: written with memcpy below
          for (int64_t j = 0; j < kMixedTileN; ++j) {
            const int64_t row = t * kMixedTileN + j;
            const float scale =
                row < n ? static_cast<float>(load_value(
                              w.weight_scale, row * scale_columns + segments[s].scale_column))
                        : 0.f;
            std::memcpy(scales + j, &scale, 4);
          }
          out += kMixedTileN * 4;
          if (c.zero_points) {
            for (int64_t j = 0; j < kMixedTileN; ++j) {
              const int64_t row = t * kMixedTileN + j;
              out[j] =
                  row < n
                      ? static_cast<uint8_t>(load_code(
                            w.weight_zero_point, row * scale_columns + segments[s].scale_column))
                      : 0;
            }
            out += kMixedTileN;
          }
        }
      }
    });
    return p;
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream) const override {
    const auto& p = static_cast<const Packed&>(prepared);
    const LayerConfig& c = p.config();
    const int64_t m = x.rows(), k = c.part_k();
    const auto kp = static_cast<int64_t>(p.source_k.size());

    // x in segment order, padded with zeros, in blocks of 8 rows interleaved as the tiles read
    // them (see MixedTileArgs::x): fp32, or bf16 bits for the vdpbf16ps tile.
    const int64_t blocks = (m + kBlockRows - 1) / kBlockRows;
    const int64_t block_elements = kMixedTileRows * kp;
    std::vector<float> xs_fp32(bf16_x_ ? 0 : static_cast<size_t>(blocks * block_elements));
    std::vector<uint16_t> xs_bf16(bf16_x_ ? static_cast<size_t>(blocks * block_elements) : 0);
    parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        for (int64_t r = 0; r < kMixedTileRows; ++r) {
          const int64_t row = b * kMixedTileRows + r;
          for (int64_t i = 0; i < kp; ++i) {
            const int32_t src = row < m ? p.source_k[i] : -1;
            if (bf16_x_)
              xs_bf16[b * block_elements + (i / 2) * 16 + r * 2 + i % 2] =
                  src < 0 ? 0 : x.data_as<const uint16_t>()[row * k + src];
            else
              xs_fp32[b * block_elements + i * kMixedTileRows + r] =
                  src < 0 ? 0.f : load_float(x.data(), c.act_type, row * k + src);
          }
        }
    });

    MixedTileArgs a{};
    a.segment_lengths = p.segment_lengths.data();
    a.segments = static_cast<int64_t>(p.segment_lengths.size());
    a.bits = p.bits;
    a.zero_points = p.zero_points;
    a.code_offset = p.code_offset;
    for_each_tile(p.tiles, blocks, kRowChunk / kBlockRows, [&](int64_t t, int64_t b, float* y) {
      MixedTileArgs args = a;
      args.weights = p.weights.data() + t * p.tile_bytes;
      args.rows = std::min<int64_t>(kBlockRows, m - b * kBlockRows);
      args.x = bf16_x_ ? static_cast<const void*>(xs_bf16.data() + b * block_elements)
                       : static_cast<const void*>(xs_fp32.data() + b * block_elements);
      args.y = y;
      tile_(args);
      store_tile(y, nullptr, b * kBlockRows, args.rows, t * kTileN, bias, out);
    });
  }

  // fp32 throughout: each product x·(code - offset) rounds once, each segment's sum is scaled
  // once, a term passes through at most K + groups additions and the bias addition, then one
  // rounding to out_type.
  double tolerance(const LayerConfig& c) const override {
    return unit_roundoff(c.out_type) + static_cast<double>(c.part_k() + c.weight_groups_k() + 3) *
                                           unit_roundoff(ScalarType::fp32);
  }

 private:
  KernelInfo info_;
  CpuIsa isa_;
  MixedTileFn tile_;
  bool bf16_x_;
};

}  // namespace

std::shared_ptr<const Kernel> make_mixed_precision_kernel(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::scalar:
      return std::make_shared<MixedPrecisionKernel>(isa, mixed_precision_tile_scalar);
    case CpuIsa::avx2:
      return std::make_shared<MixedPrecisionKernel>(isa, mixed_precision_tile_avx2);
    case CpuIsa::avx512:
      return std::make_shared<MixedPrecisionKernel>(isa, mixed_precision_tile_avx512);
    case CpuIsa::avx512_vnni:
      return std::make_shared<MixedPrecisionKernel>(isa, mixed_precision_tile_avx512_vnni);
    case CpuIsa::amx:
      break;
  }
  throw Error(cat("mixed_precision: no cpu kernel for ISA level ", name(isa)));
}

}  // namespace qlinear::cpu
