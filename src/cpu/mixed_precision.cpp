// The cpu provider's kernels that decode weight codes to fp32 (bf16 in the _vnni tile) inside the
// tile and multiply in floating point: mixed_precision (W4A16 / W8A16), nvfp4_weight_only,
// mxfp8_weight_only, mxfp4_weight_only, fp8_weight_only, and the float8 / float4 families with
// quantized activations (fp8_scaled_mm, fp8_block, nvfp4, mxfp8, mxfp4), whose activations are
// quantized as the reference prescribes and enter the tile as their code values, the activation
// scales applied per segment or per row. Every product of two decoded codes is exact; the packing
// and the driver are shared by every ISA level; the inner tile is per ISA
// (mixed_precision_<isa>.cpp).
//
// Work partition (one call):
//
//   x [M, K] --(quantize,) gather into segment order, pad--> xs [M, Kp] (fp32, or bf16 for _vnni
//                                                               and _amx)
//   for each chunk of up to 64 rows of xs (256 for the _vnni pair tile; kept in cache across
//   tiles):
//     parallel over N tiles of 16 columns (pairs of tiles for the _vnni and _amx kernels):
//       tile(chunk rows, 16 columns, all of Kp) -> fp32 -> epilogue
//
// The weights stream once per row chunk, so at small M the layer reads each packed byte once.
// Segments (see mixed_precision_tile.hpp) carry act order: K is permuted once at load so that each
// g_idx group is contiguous, and x is gathered through the same permutation on every call.
//
// The _amx kernels run their AMX tiles, which read x row-major (amx_layout.hpp), at every M; their
// packing (segments padded for the tile's K step) serves the _avx512_vnni tiles too, so the
// composite plans that run the VNNI kernel for a few rows share it (weights_for).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/code_words.hpp"
#include "core/host_memory.hpp"
#include "core/scale_values.hpp"
#include "cpu/amx_layout.hpp"
#include "cpu/convert.hpp"
#include "cpu/driver.hpp"
#include "cpu/interleave_pairs.hpp"
#include "cpu/kernels.hpp"
#include "cpu/mixed_precision_tile.hpp"
#include "cpu/pack_tile_columns.hpp"
#include "cpu/parallel.hpp"
#include "cpu/round_codes.hpp"
#include "cpu/widen_floats.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::cpu {
namespace {

static_assert(kMixedTileN == kTileN && kMixedTileRows == kBlockRows, "tiles follow driver.hpp");

constexpr int64_t kSegmentAlign = 4;  // tiles step through K four positions at a time

struct Packed final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  // [tiles][tile_bytes], every byte written by process_weights: a vector's zero fill was one more
  // pass over the packed bytes (5 % of process_weights' perf samples before it went). On huge
  // pages where large (host_memory.hpp): the layer keeps them, so they are always fresh memory.
  detail::HostMemory weights;
  std::vector<int32_t> segment_lengths;  // padded
  std::vector<int32_t> source_k;         // [Kp]: K position of x each padded position reads, -1 = 0
  bool k_in_order = false;               // source_k is 0, 1, ..., K - 1: x's rows place as they are
  int64_t tiles = 0, tile_bytes = 0;
  int bits = 4;
  bool zero_points = false;
  bool e4m3 = false;
  int32_t code_offset = 0;
  std::array<float, 16> values{};         // 4-bit codes without zero points
  std::array<float, 256> scale_values{};  // one-byte scale codes, where scale_code says so
  float input_scale = 0;
  // NVFP4's fp32 global weight scale, applied per row with the activations' row scale: the
  // segment scales stay e4m3, so that code x scale is exact in bf16 (see scales_fold_into_codes).
  float global_scale = 1;
  bool fold_scales = false;  // see MixedTileArgs::fold_scales
  SegmentScaleCode scale_code = SegmentScaleCode::fp32;
};

// The one-byte weight scales are packed as they are where every one has the fp32 value the tiles
// decode (SegmentScaleCode): e4m3 but NaN, e8m0 but 2^-127 and NaN. Else fp32.
SegmentScaleCode scale_code_of(const TensorView& scales) {
  const auto all_codes = [&](auto accept) {
    for (int64_t i = 0; i < scales.numel(); ++i)
      if (!accept(load_code(scales, i))) return false;
    return true;
  };
  if (scales.dtype() == ScalarType::float8_e4m3fn &&
      all_codes([](uint32_t code) { return (code & 0x7f) != 0x7f; }))
    return SegmentScaleCode::e4m3;
  if (scales.dtype() == ScalarType::float8_e8m0fnu &&
      all_codes([](uint32_t code) { return code != 0 && code != 0xff; }))
    return SegmentScaleCode::e8m0;
  return SegmentScaleCode::fp32;
}

// Whether every code times its segment's scale is exact in bf16 (MixedTileArgs::fold_scales):
// NVFP4's e2m1 codes (2 significant bits) times e4m3 scales (4) have at most 6 significant bits,
// in [2^-10, 2688]; an OCP MX code times a power-of-two scale 2^e is exact while it stays normal,
// which every e4m3 and e2m1 code does for -117 <= e <= 118 (see fold_mx_group_scales; the NaN
// scale 0xff is outside).
bool scales_fold_into_codes(const LayerConfig& c, const LayerWeights& w) {
  if (c.family == Family::nvfp4 || c.family == Family::nvfp4_weight_only) return true;
  if (c.weight_scale_type != ScalarType::float8_e8m0fnu) return false;
  for (int64_t i = 0; i < w.weight_scale.numel(); ++i) {
    const int e = std::ilogb(static_cast<float>(load_value(w.weight_scale, i)));
    if (e < -117 || e > 118) return false;
  }
  return true;
}

// The K positions of each segment, in order, and the scale column each one uses.
struct Segment {
  int64_t scale_column;
  std::vector<int64_t> positions;
};

std::vector<Segment> segments_of(const LayerConfig& c, const LayerWeights& w) {
  const int64_t k = c.part_k();
  const int64_t groups = c.weight_groups_k();
  const bool along_k =
      c.weight_scale == Granularity::per_group || c.weight_scale == Granularity::block;
  std::vector<Segment> segments(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) segments[g].scale_column = g;
  const auto* g_idx = c.act_order ? w.g_idx.data_as<const int32_t>() : nullptr;
  for (int64_t i = 0; i < k; ++i)
    segments[g_idx ? g_idx[i] : along_k ? i / c.group_size : 0].positions.push_back(i);
  std::erase_if(segments, [](const Segment& s) { return s.positions.empty(); });
  return segments;
}

// The 8-bit code of column n at K position k as the tiles read it (int8 as unsigned code + 128).
uint8_t code8_at(const LayerConfig& c, const uint8_t* weight, int64_t n, int64_t k) {
  const uint8_t byte = weight[n * c.part_k() + k];
  return c.weight_type == ScalarType::int8 ? byte ^ 0x80 : byte;
}

// Whether every segment is a run of consecutive K positions that starts and ends on a byte of the
// canonical codes: its tile rows are then those bytes transposed (pack_tile_columns.hpp). Not so
// under act order, nor for the float8 pairs of the bf16 tiles, whose unit is two codes.
bool segments_are_byte_runs(const std::vector<Segment>& segments, int bits, bool float8_pairs) {
  if (float8_pairs) return false;
  return std::all_of(segments.begin(), segments.end(), [&](const Segment& s) {
    const int64_t first = s.positions.front(), count = static_cast<int64_t>(s.positions.size());
    const bool whole_bytes = bits == 8 || (first % 2 == 0 && count % 2 == 0);
    return s.positions.back() - first + 1 == count && whole_bytes;
  });
}

// Whether every segment is whole words of the codes in words (core/code_words.hpp), which are
// then packed from where they lie (pack_tile_words), not from a canonical copy.
bool segments_are_word_runs(const std::vector<Segment>& segments, int64_t per_word) {
  return std::all_of(segments.begin(), segments.end(), [&](const Segment& s) {
    return s.positions.front() % per_word == 0 &&
           static_cast<int64_t>(s.positions.size()) % per_word == 0;
  });
}

// pack_tile_columns at the host's ISA level (the packing serves every kernel level, so the host
// decides, not the kernel).
void (*tile_columns_packer(int64_t stride))(const TileColumns&) {
  const bool offsets_fit = stride < (int64_t{1} << 31) / 16;  // the gather's 32-bit offsets
  return host_platform().cpu.isa >= CpuIsa::avx512 && offsets_fit ? pack_tile_columns_avx512
                                                                  : pack_tile_columns_scalar;
}

void (*tile_words_packer())(const TileWords&) {
  return host_platform().cpu.isa >= CpuIsa::avx512 ? pack_tile_words_avx512
                                                   : pack_tile_words_scalar;
}

void (*gathered_words_packer())(const TileGatheredWords&) {
  return host_platform().cpu.isa >= CpuIsa::avx512 ? pack_tile_gathered_words_avx512
                                                   : pack_tile_gathered_words_scalar;
}

// interleave_pairs at the host's ISA level, as the packers above (its callers run the vdpbf16ps
// tiles, so in practice the vector path; the check keeps AVX-512 code off any other host).
void interleave_pairs(const PairRows& a) {
  if (host_platform().cpu.isa >= CpuIsa::avx512) return interleave_pairs_avx512(a);
  interleave_pairs_scalar(a);
}

// The 16 floats at `out`, streamed past the caches where they are a whole line (see
// pack_tile_columns.hpp).
void store_line(uint8_t* out, const float (&values)[16]) {
  if (reinterpret_cast<uintptr_t>(out) % 64 != 0) {
    std::memcpy(out, values, sizeof values);
    return;
  }
  for (int i = 0; i < 16; i += 4)
    _mm_stream_ps(reinterpret_cast<float*>(out) + i, _mm_loadu_ps(values + i));
}

// widen_floats at ISA level `isa` (the host's for the weight scales at load, the kernel's for x).
void (*floats_widener(CpuIsa isa))(const FloatWidening&) {
  return isa >= CpuIsa::avx512 ? widen_floats_avx512
         : isa >= CpuIsa::avx2 ? widen_floats_avx2
                               : widen_floats_scalar;
}

// The weight scales as fp32, converted once a layer: bf16 and fp16 ones by widen_floats at the
// host's ISA level, the others as core's values_as_fp32 converts them. Exact: every source value
// is an fp32 value.
std::vector<float> weight_scales_fp32(const TensorView& s) {
  const ScalarType type = s.dtype();
  if (type != ScalarType::bf16 && type != ScalarType::fp16) return values_as_fp32(s);
  std::vector<float> out(static_cast<size_t>(s.numel()));
  floats_widener(host_platform().cpu.isa)(
      {s.data_as<const uint16_t>(), s.numel(), type == ScalarType::bf16, out.data()});
  return out;
}

// Row of the weight scale tensor that column n uses.
int64_t scale_row(const LayerConfig& c, int64_t n) {
  switch (c.weight_scale) {
    case Granularity::per_tensor:
      return 0;
    case Granularity::block:
      return n / c.block_n;
    default:
      return n;
  }
}

// The largest exponent of an MX element type: e4m3 8 (448 = 1.75 · 2^8), e2m1 2 (6 = 1.5 · 2^2).
int mx_emax(ScalarType type) { return type == ScalarType::float4_e2m1f ? 2 : 8; }

// NVFP4's activation group scales are float8_e4m3fn (4 significant bits) and its codes e2m1 (2):
// a code times its group's scale has at most 6 significant bits and lies in [2^-10, 2688], exact
// in fp32 and bf16. So x enters the tiles as those products, and only the per-tensor input_scale
// is left, applied per row: no per-segment activation scale in the tile's epilogue.
bool group_scales_in_x(const LayerConfig& c) { return c.family == Family::nvfp4; }

// OCP MX activation group scales are powers of two 2^e: a code times its group's scale is exact in
// fp32, and in bf16 while it stays normal, which every e4m3 and e2m1 code does for -117 <= e <= 118
// (e4m3's smallest subnormal is 2^-9, its largest value 448 < 2^9). Where every group of a row is
// so (or all zero), q[K] becomes those products and true is returned: the row's segment scales are
// then 1 and, where no row keeps its own, the tile's epilogue has none. Else q is left as it is.
bool fold_mx_group_scales(const LayerConfig& c, const float* groups, float* q) {
  if (c.family != Family::mxfp8 && c.family != Family::mxfp4) return false;
  const int64_t k = c.part_k(), group = c.act_group_size;
  for (int64_t g = 0; g * group < k; ++g) {
    const int e = std::ilogb(groups[g]);
    const bool zero = std::all_of(q + g * group, q + std::min(k, (g + 1) * group),
                                  [](float code) { return code == 0; });
    if ((e < -117 || e > 118) && !zero) return false;
  }
  for (int64_t g = 0; g * group < k; ++g)
    for (int64_t i = g * group; i < std::min(k, (g + 1) * group); ++i) q[i] *= groups[g];
  return true;
}

// Activations of the quantizing families, as the tiles take them: the code values of one row
// (times their group scales where group_scales_in_x), and the scale of the row (per tensor / per
// token) or of each group along K.
struct RowScales {
  float row = 1.f;
  float* groups = nullptr;  // [ceil(K / act_group_size)] for per-group activation scales
};

// The elementwise rounding of the kernel's ISA level (round_codes.hpp: a twin per level).
struct ActivationRounding {
  void (*codes)(const CodeRounding&);
  void (*nvfp4_groups)(const Nvfp4Rounding&);
  float (*amax)(const float*, int64_t);
};

// Quantizes v[K] (fp32 values of one row of x) to code values q[K], exactly as
// reference::quantize_activations: scales and divisions in fp32, codes rounded to nearest even
// (by `round`, the kernel's ISA level's twins).
void quantize_row(const LayerConfig& c, float input_scale, float tensor_scale,
                  const ActivationRounding& round, const float* v, float* q, RowScales& scales) {
  const int64_t k = c.part_k();
  const auto amax_of = [&](int64_t k0, int64_t k1) { return round.amax(v + k0, k1 - k0); };
  const bool e2m1 = *c.act_quant == ScalarType::float4_e2m1f;
  if (c.act_scale != Granularity::per_group) {  // fp8_scaled_mm
    float scale = tensor_scale;
    if (c.act_scale == Granularity::per_token) {
      const float amax = amax_of(0, k);
      scale = amax > 0 ? amax / 448.f : 1.f;
    }
    round.codes({v, q, k, scale, false, e2m1});
    scales.row = scale;
    return;
  }
  if (c.family == Family::nvfp4) {  // groups of 16, their e4m3 scales kept in q (exact)
    round.nvfp4_groups({v, q, k, 1.f / input_scale});
    scales.row = input_scale;
    return;
  }
  const int64_t group = c.act_group_size;
  for (int64_t g = 0; g * group < k; ++g) {
    const int64_t k0 = g * group, k1 = std::min(k, k0 + group);
    const float amax = amax_of(k0, k1);
    float scale;
    if (c.family == Family::mxfp8 || c.family == Family::mxfp4)  // OCP MX: less emax (8, 2)
      scale = std::ldexp(
          1.f, amax > 0 ? std::clamp(std::ilogb(amax) - mx_emax(*c.act_quant), -127, 127) : -127);
    else  // fp8_block
      scale = amax > 0 ? amax / 448.f : 1.f;
    round.codes({v + k0, q + k0, k1 - k0, scale, false, e2m1});
    scales.groups[g] = scale;
  }
}

// The tile functions of a kernel for one layout of x.
struct MixedTiles {
  MixedTileFn single;
  MixedTileFn pair = nullptr;  // two adjacent tiles in one call, or null: one at a time
  bool row_major_x = false;    // the _amx tiles (amx_layout.hpp); else blocks of 8 rows
  int64_t pair_chunk_rows = kMixedChunkRows;  // rows of x a pair call takes, at most
};

class DequantKernel final : public Kernel {
 public:
  // `isa`: the level the kernel needs (the _amx_model kernels: avx512_vnni, with AMX tiles).
  DequantKernel(Family family, CpuIsa isa, std::string name, MixedTiles tiles)
      : info_{std::move(name), Provider::cpu, family},
        isa_(isa),
        tiles_(tiles),
        bf16_x_(isa >= CpuIsa::avx512_vnni),
        round_(
            isa >= CpuIsa::avx512
                ? ActivationRounding{round_codes_avx512, round_nvfp4_groups_avx512, amax_avx512}
                : ActivationRounding{round_codes_scalar, round_nvfp4_groups_scalar, amax_scalar}),
        widen_(floats_widener(isa)) {}

  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& platform) const override { return runs_at(platform, isa_); }

  Verdict can_implement(const LayerConfig& c) const override {
    // vdpbf16ps and tdpbf16ps multiply bf16 pairs: exact for bf16 activations, and for the code
    // values of quantized ones (float8 / float4), but not for fp16 or fp32 activations.
    if (bf16_x_ && !c.act_quant && c.act_type != ScalarType::bf16)
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
    p->bits = qlinear::info(c.weight_type).bits;
    p->zero_points = c.zero_points;
    p->e4m3 = c.weight_type == ScalarType::float8_e4m3fn;
    p->code_offset =
        c.zero_points || p->e4m3 ? 0 : static_cast<int32_t>(qlinear::info(c.weight_type).bias);
    if (c.weight_type == ScalarType::int8) p->code_offset = 128;
    if (p->bits == 4)
      for (uint32_t code = 0; code < 16; ++code)
        p->values[code] = static_cast<float>(decode(c.weight_type, code));
    if (w.input_scale.defined()) p->input_scale = *w.input_scale.data_as<const float>();
    if (c.has_global_scale()) p->global_scale = *w.weight_global_scale.data_as<const float>();
    // Folding costs a float8 code 5 more instructions where the VNNI pair tile decodes it once per
    // step for all rows: OCP MX e4m3 4096x4096 on one core 0.96-0.97x of its per-segment
    // epilogue, NVFP4 1.10-1.13x at M = 256 (bench/NOTES.md), so that tile folds 4-bit codes only;
    // the AMX tiles, whose per-segment path ends every segment with an epilogue over all rows,
    // fold float8 codes too.
    p->fold_scales = bf16_x_ && (p->bits == 4 || p->e4m3) && scales_fold_into_codes(c, w);

    const std::vector<Segment> segments = segments_of(c, w);
    // The _amx tiles step through K 16 or 32 positions at a time (amx_layout.hpp).
    const int64_t align = !tiles_.row_major_x   ? kSegmentAlign
                          : segments.size() > 1 ? kAmxSegmentAlign
                                                : kAmxBf16KStep;
    for (const Segment& s : segments) {
      const auto length = static_cast<int64_t>(s.positions.size());
      const int64_t padded = (length + align - 1) / align * align;
      p->segment_lengths.push_back(static_cast<int32_t>(padded));
      p->source_k.insert(p->source_k.end(), s.positions.begin(), s.positions.end());
      p->source_k.insert(p->source_k.end(), static_cast<size_t>(padded - length), -1);
    }
    p->k_in_order = static_cast<int64_t>(p->source_k.size()) == c.part_k();
    for (size_t i = 0; i < p->source_k.size() && p->k_in_order; ++i)
      p->k_in_order = p->source_k[i] == static_cast<int32_t>(i);
    p->scale_code = scale_code_of(w.weight_scale);
    if (p->scale_code != SegmentScaleCode::fp32)
      for (uint32_t code = 0; code < 256; ++code)
        p->scale_values[code] = static_cast<float>(decode(w.weight_scale.dtype(), code));
    const int64_t scale_bytes = segment_scale_bytes(p->scale_code, p->bits);
    const int64_t extras = scale_bytes + (c.zero_points ? kMixedTileN : 0);  // scales, zps
    p->tiles = (n + kMixedTileN - 1) / kMixedTileN;
    p->tile_bytes = 0;
    for (int32_t length : p->segment_lengths)
      p->tile_bytes += length * kMixedTileN * p->bits / 8 + extras;
    p->weights = detail::layer_alloc(static_cast<size_t>(p->tiles * p->tile_bytes));

    const int64_t scale_columns = c.weight_scale_shape()[1];
    // fp32 scales where the segments keep them so; one-byte ones are packed as their codes.
    const std::vector<float> weight_scales = p->scale_code == SegmentScaleCode::fp32
                                                 ? weight_scales_fp32(w.weight_scale)
                                                 : std::vector<float>();
    const bool float8_pairs = bf16_x_ && p->e4m3;  // see MixedTileArgs
    const bool byte_runs = segments_are_byte_runs(segments, p->bits, float8_pairs);
    // Codes in words (GPTQ's, from the mapped checkpoint) pack where they lie: a row of words a
    // step where every segment is whole words, else (act order, a group of fewer codes than a
    // word) one K position's row of words at a time, gathered through the segment's positions
    // (from a canonical copy made here, act order took 6.7x the load time of the same layers
    // without it: bench/NOTES.md). Canonical codes otherwise.
    const std::optional<detail::CodeWords> words = detail::code_words(w.weight);
    const bool from_words =
        words && byte_runs && segments_are_word_runs(segments, words->per_word());
    const bool gathered = words && !from_words;
    const auto* weight = w.weight.data_as<const uint8_t>();  // canonical codes where !words
    const int64_t row_bytes = c.part_k() * p->bits / 8;      // of one column's canonical codes
    const auto pack_columns = tile_columns_packer(row_bytes);
    const auto pack_words = tile_words_packer();
    const auto pack_gathered = gathered_words_packer();
    const auto flip = static_cast<uint8_t>(c.weight_type == ScalarType::int8 ? 0x80 : 0);
    std::vector<int64_t> segment_offsets;  // in a tile's bytes
    for (int64_t offset = 0; int32_t length : p->segment_lengths) {
      segment_offsets.push_back(offset);
      offset += length * kMixedTileN * p->bits / 8 + extras;
    }
    // Segment s of tile t: its codes, then its scales and zero points.
    const auto pack_segment = [&](int64_t t, size_t s) {
      uint8_t* out = p->weights.get() + t * p->tile_bytes + segment_offsets[s];
      const int64_t col0 = t * kMixedTileN;
      const auto columns = static_cast<int>(std::min<int64_t>(kMixedTileN, n - col0));
      const std::vector<int64_t>& pos = segments[s].positions;
      const int64_t code_bytes = p->segment_lengths[s] * kMixedTileN * p->bits / 8;
      // Columns past N and padded positions are code 0; the byte runs write every byte.
      if (!byte_runs || gathered) std::memset(out, 0, static_cast<size_t>(code_bytes));
      if (gathered) {
        const auto* src = reinterpret_cast<const uint8_t*>(words->words) + 4 * col0;
        pack_gathered({src, 4 * words->row_words, columns, p->bits, pos.data(),
                       static_cast<int64_t>(pos.size()), flip, out});
      } else if (byte_runs) {
        const auto units = static_cast<int64_t>(pos.size()) * p->bits / 8;
        if (from_words) {
          const int64_t word = pos.front() / words->per_word() * words->row_words + col0;
          const auto* src = reinterpret_cast<const uint8_t*>(words->words) + 4 * word;
          pack_words({src, 4 * words->row_words, columns, units, flip, out});
        } else {
          pack_columns({weight + col0 * row_bytes + pos.front() * p->bits / 8, row_bytes, columns,
                        units, flip, out});
        }
        std::memset(out + units * kMixedTileN, 0,
                    static_cast<size_t>(code_bytes - units * kMixedTileN));  // padding
      } else if (p->bits == 4) {
        // Act order from canonical codes: each byte from two codes of the column, gathered
        // through the positions (a function call per code, with its type look-ups and branches,
        // took ~5 ns a weight).
        for (int64_t j = 0; j < columns; ++j) {
          const uint8_t* column = weight + (col0 + j) * row_bytes;
          const auto code = [&](size_t i) {
            return static_cast<unsigned>(column[pos[i] / 2] >> (pos[i] % 2 * 4)) & 0xfu;
          };
          for (size_t i = 0; i < pos.size(); i += 2) {
            const unsigned high = i + 1 < pos.size() ? code(i + 1) : 0u;
            out[(i / 2) * kMixedTileN + j] = static_cast<uint8_t>(code(i) | high << 4);
          }
        }
      } else {
        for (int64_t j = 0; j < columns; ++j)
          for (size_t i = 0; i < pos.size(); ++i) {
            const uint8_t code = code8_at(c, weight, col0 + j, pos[i]);
            if (float8_pairs)
              out[(i / 2) * 2 * kMixedTileN + j * 2 + i % 2] = code;
            else
              out[i * kMixedTileN + j] = code;
          }
      }
      out += code_bytes;
      float scales[kMixedTileN] = {};             // columns past N: scale 0 (e8m0: 1), code 0
      uint8_t zeros[kMixedTileN] = {};            // and zero point 0
      uint8_t scale_codes[2 * kMixedTileN] = {};  // one-byte scales, then padding
      if (p->scale_code == SegmentScaleCode::e8m0) std::fill_n(scale_codes, kMixedTileN, 127);
      for (int64_t j = 0; j < columns; ++j) {
        const int64_t scale_index =
            scale_row(c, col0 + j) * scale_columns + segments[s].scale_column;
        if (p->scale_code == SegmentScaleCode::fp32)
          scales[j] = weight_scales[scale_index];
        else
          scale_codes[j] = static_cast<uint8_t>(load_code(w.weight_scale, scale_index));
        if (c.zero_points)
          zeros[j] = static_cast<uint8_t>(load_code(w.weight_zero_point, scale_index));
      }
      if (p->scale_code == SegmentScaleCode::fp32)
        store_line(out, scales);
      else
        std::memcpy(out, scale_codes, static_cast<size_t>(scale_bytes));
      if (c.zero_points) std::memcpy(out + scale_bytes, zeros, sizeof zeros);
    };
    // The packed buffer, and the words where they are the source, mapped ahead over the threads
    // (detail::populate: one call maps many pages, and no two threads fault the same one in).
    // A thread's share is then a block of whole tiles, about a huge page of packed bytes. Within
    // a block, in the order the source lies: the words a segment's rows of words at a time, every
    // tile of the block before the next row (tile by tile, each 64-byte piece of a row was a new
    // 4 KiB page of the mapped file: 16-57 KiB apart); the canonical codes a tile's columns at a
    // time, and so the gathered words: a tile's segments read each of its 64-byte pieces of the
    // rows of words for all the row's positions while it is in cache (segment by segment over the
    // block, the act-order load took 1.1-1.2x longer). The block's scales stay in L2 across its
    // segments. (16 tile segments a share, each segment over every tile, cost 1.27x the CPU time:
    // bench/NOTES.md.)
    const auto segment_count = static_cast<int64_t>(segments.size());
    populate_in_parallel(p->weights.get(), static_cast<size_t>(p->tiles * p->tile_bytes), true);
    if (words) {  // word (0, 0) to the last row's word N - 1, in bytes
      const int64_t word_rows = words->k / words->per_word();
      const int64_t span = 4 * ((word_rows - 1) * words->row_words + words->n);
      populate_in_parallel(words->words, static_cast<size_t>(span), false);
    }
    const int64_t block_tiles = tiles_per_huge_page(p->tiles, p->tile_bytes);
    parallel_for(p->tiles, block_tiles, [&](int64_t t0, int64_t t1) {
      for (int64_t i = 0; i < (t1 - t0) * segment_count; ++i)
        if (from_words)
          pack_segment(t0 + i % (t1 - t0), static_cast<size_t>(i / (t1 - t0)));
        else
          pack_segment(t0 + i / segment_count, static_cast<size_t>(i % segment_count));
      _mm_sfence();  // the streamed stores (store_line, pack_tile_*) before the threads join
    });
    return p;
  }

  bool takes_code_words() const override { return true; }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream) const override {
    const auto& p = static_cast<const Packed&>(prepared);
    const LayerConfig& c = p.config();
    const int64_t m = x.rows(), k = c.part_k();
    const auto kp = static_cast<int64_t>(p.source_k.size());
    const auto segments = static_cast<int64_t>(p.segment_lengths.size());
    const bool quantized = c.act_quant.has_value();
    const bool group_scales =
        quantized && c.act_scale == Granularity::per_group && !group_scales_in_x(c);
    const MixedTiles& tiles = tiles_;

    // x (quantized to code values where the family says so) in segment order, padded with zeros,
    // as the tiles read it (see MixedTileArgs::x): in blocks of 8 rows interleaved, or row-major
    // with the rows padded to a multiple of kAmxRowBlock; fp32, or bf16 bits for the vdpbf16ps and
    // tdpbf16ps tiles; with the activation scales per row or per segment.
    const int64_t blocks = (m + kBlockRows - 1) / kBlockRows;
    const int64_t block_elements = kMixedTileRows * kp;
    const int64_t x_elements = tiles.row_major_x
                                   ? (m + kAmxRowBlock - 1) / kAmxRowBlock * kAmxRowBlock * kp
                                   : blocks * block_elements;
    std::vector<float> xs_fp32(bf16_x_ ? 0 : static_cast<size_t>(x_elements));
    std::vector<uint16_t> xs_bf16(bf16_x_ ? static_cast<size_t>(x_elements) : 0);
    // Per row: the activations' scale times NVFP4's global weight scale.
    std::vector<float> row_scales((quantized && !group_scales) || p.global_scale != 1
                                      ? static_cast<size_t>(blocks * kBlockRows)
                                      : 0,
                                  p.global_scale);
    std::vector<float> x_scales(
        group_scales ? static_cast<size_t>(blocks * segments * kBlockRows) : 0, 1.f);
    const float tensor_scale =
        quantized && !group_scales ? fp8_tensor_scale(c, p.input_scale, x) : 1.f;
    std::atomic<bool> rows_keep_group_scales{false};  // see fold_mx_group_scales
    // bf16 rows in x's own K order go to the tiles' blocks 8 at a time (interleave_pairs).
    const bool whole_blocks = bf16_x_ && !tiles.row_major_x && p.k_in_order;
    parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> v(static_cast<size_t>(k)), q(static_cast<size_t>(k)),
          groups(static_cast<size_t>(segments));
      std::vector<uint16_t> staged(whole_blocks && quantized ? kMixedTileRows * k : 0);
      for (int64_t b = b0; b < b1; ++b) {
        PairRows block{{}, kp, xs_bf16.data() + b * block_elements};
        for (int64_t r = 0; r < kMixedTileRows; ++r) {
          const int64_t row = b * kMixedTileRows + r;
          if (row >= m) break;          // rows past M stay 0, as the buffers start
          if (bf16_x_ && !quantized) {  // bf16 activations as they are
            const auto* bits = x.data_as<const uint16_t>() + row * k;
            if (whole_blocks)
              block.rows[r] = bits;
            else
              place_row(p, row, xs_bf16.data(), [&](int32_t src) { return bits[src]; });
            continue;
          }
          load_row(x.data(), c.act_type, row * k, k, v.data());
          const float* values = v.data();
          if (quantized) {
            RowScales scales{1.f, groups.data()};
            quantize_row(c, p.input_scale, tensor_scale, round_, v.data(), q.data(), scales);
            values = q.data();
            if (group_scales && !fold_mx_group_scales(c, groups.data(), q.data())) {
              rows_keep_group_scales = true;
              for (int64_t s = 0; s < segments; ++s)
                x_scales[(b * segments + s) * kBlockRows + r] = groups[s];
            } else if (!group_scales)
              row_scales[row] = scales.row * p.global_scale;
          }
          if (whole_blocks) {
            uint16_t* bits = staged.data() + r * k;
            for (int64_t i = 0; i < k; ++i) bits[i] = float_to_bf16(values[i]);
            block.rows[r] = bits;
          } else if (bf16_x_) {
            place_row(p, row, xs_bf16.data(),
                      [&](int32_t src) { return float_to_bf16(values[src]); });
          } else {
            place_row(p, row, xs_fp32.data(), [&](int32_t src) { return values[src]; });
          }
        }
        if (whole_blocks) interleave_pairs(block);
      }
    });

    MixedTileArgs a{};
    a.segment_lengths = p.segment_lengths.data();
    a.segments = segments;
    a.bits = p.bits;
    a.zero_points = p.zero_points;
    a.e4m3 = p.e4m3;
    a.code_offset = p.code_offset;
    a.scale_code = p.scale_code;
    a.values = p.values.data();
    a.scale_values = p.scale_values.data();
    a.tile_bytes = p.tile_bytes;
    a.x_row_stride = kp;
    a.fold_scales = p.fold_scales && !rows_keep_group_scales;
    const int64_t width = tiles.pair ? 2 : 1;  // tiles per call
    for_each_tile(p.tiles, width, blocks, tiles.pair_chunk_rows / kBlockRows,
                  [&](int64_t t, int64_t b0, int64_t b1) {
                    // 64-byte aligned: the tiles' epilogues load and store it a vector at a time
                    // (unaligned, a 256-row chunk at M = 256 lost 11-21 % to lines split between
                    // vectors).
                    alignas(64) float y[2 * kMixedPairChunkRows * kTileN];
                    MixedTileArgs args = a;
                    args.weights = p.weights.get() + t * p.tile_bytes;
                    args.x_block_stride = block_elements;
                    args.y = y;
                    // Blocks [c0, c1) through `tile`, which computes `count` tiles.
                    const auto run = [&](MixedTileFn tile, int64_t count, int64_t c0, int64_t c1) {
                      // Both layouts put the chunk's first row at c0 · 8 · Kp.
                      args.x = bf16_x_
                                   ? static_cast<const void*>(xs_bf16.data() + c0 * block_elements)
                                   : static_cast<const void*>(xs_fp32.data() + c0 * block_elements);
                      args.x_scales = rows_keep_group_scales
                                          ? x_scales.data() + c0 * segments * kBlockRows
                                          : nullptr;
                      args.rows = std::min(c1 * kBlockRows, m) - c0 * kBlockRows;
                      tile(args);
                      store_tile(isa_, y, count,
                                 row_scales.empty() ? nullptr : row_scales.data() + c0 * kBlockRows,
                                 c0 * kBlockRows, args.rows, t * kTileN, bias, out);
                    };
                    if (std::min(width, p.tiles - t) == 2) return run(tiles.pair, 2, b0, b1);
                    // The last tile of an odd count alone, in the single tile's chunks.
                    for (int64_t c0 = b0; c0 < b1; c0 += kMixedChunkRows / kBlockRows)
                      run(tiles.single, 1, c0, std::min(b1, c0 + kMixedChunkRows / kBlockRows));
                  });
  }

  // fp32 throughout: each product x·value(code) rounds once, each segment's sum (the _vnni pair
  // tile: each piece of up to 512 positions of it, 128 for float8 codes) is scaled once (twice with
  // activation scales per group), a term passes through at most K + groups additions, a row scale
  // and the bias addition, then one rounding to out_type.
  double tolerance(const LayerConfig& c) const override {
    return unit_roundoff(c.out_type) +
           static_cast<double>(c.part_k() + 2 * c.weight_groups_k() + 4) *
               unit_roundoff(ScalarType::fp32);
  }

 private:
  // Row `row` of x in segment order where the tiles read it (see MixedTileArgs::x): padded K
  // position i holds value(source_k[i]), or 0 where source_k is -1. Element: uint16_t bf16 bits
  // (the _vnni and _amx tiles) or float. The layout's index arithmetic is out of the loop: per
  // element it was most of the preparation of bf16 x.
  template <typename Element, typename Value>
  void place_row(const Packed& p, int64_t row, Element* xs, Value&& value) const {
    const auto kp = static_cast<int64_t>(p.source_k.size());
    const int32_t* source = p.source_k.data();
    const auto at = [&](int64_t i) { return source[i] < 0 ? Element{0} : value(source[i]); };
    if (tiles_.row_major_x) {
      Element* out = xs + row * kp;
      for (int64_t i = 0; i < kp; ++i) out[i] = at(i);
      return;
    }
    const int64_t r = row % kMixedTileRows;
    Element* block = xs + (row - r) * kp;
    if constexpr (sizeof(Element) == 2) {  // pairs of K positions, a row's pair every 8 words
      Element* out = block + 2 * r;
      for (int64_t i = 0; i < kp; ++i) out[(i / 2) * 2 * kMixedTileRows + i % 2] = at(i);
    } else {
      Element* out = block + r;
      for (int64_t i = 0; i < kp; ++i) out[i * kMixedTileRows] = at(i);
    }
  }

  // Elements [first, first + count) of x (bf16, fp16 or fp32) as fp32 in v: bf16 / fp16 through
  // widen_floats at the kernel's level (an element at a time in this file's baseline x86-64 code,
  // fp16 was a libgcc call each: 1.11-1.24x at 64 tokens with fp16 activations, bench/NOTES.md).
  void load_row(const void* x, ScalarType type, int64_t first, int64_t count, float* v) const {
    if (type == ScalarType::fp32) {
      std::memcpy(v, static_cast<const float*>(x) + first, static_cast<size_t>(count) * 4);
      return;
    }
    widen_({static_cast<const uint16_t*>(x) + first, count, type == ScalarType::bf16, v});
  }

  // The per-tensor activation scale of fp8_scaled_mm: static, or amax / 448 over all of x.
  static float fp8_tensor_scale(const LayerConfig& c, float input_scale, const TensorView& x) {
    if (c.act_scale_static) return input_scale;
    if (c.act_scale != Granularity::per_tensor) return 1.f;
    float amax = 0;
    for (int64_t i = 0; i < x.numel(); ++i)
      amax = std::max(amax, std::fabs(load_float(x.data(), c.act_type, i)));
    return amax > 0 ? amax / 448.f : 1.f;
  }

  std::shared_ptr<const PreparedWeights> weights_for(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const override {
    return tiles_.row_major_x ? amx_weights_for(*this, other, prepared)
                              : Kernel::weights_for(other, prepared);
  }

  KernelInfo info_;
  CpuIsa isa_;
  MixedTiles tiles_;
  bool bf16_x_;
  ActivationRounding round_;
  void (*widen_)(const FloatWidening&);
};

constexpr MixedTiles kVnniTiles{mixed_precision_tile_avx512_vnni,
                                mixed_precision_tile_pair_avx512_vnni, false, kMixedPairChunkRows};

}  // namespace

std::shared_ptr<const Kernel> make_dequant_kernel(Family family, CpuIsa isa) {
  const std::string kernel_name = cat(name(family), "_", name(isa));
  const auto make = [&](MixedTiles tiles) {
    return std::make_shared<DequantKernel>(family, isa, kernel_name, tiles);
  };
  switch (isa) {
    case CpuIsa::scalar:
      return make({mixed_precision_tile_scalar});
    case CpuIsa::avx2:
      return make({mixed_precision_tile_avx2});
    case CpuIsa::avx512:
      return make({mixed_precision_tile_avx512});
    case CpuIsa::avx512_vnni:
      return make(kVnniTiles);
    case CpuIsa::amx:
      return make(
          MixedTiles{mixed_precision_tile_amx, mixed_precision_tile_pair_amx, true, kAmxChunkRows});
  }
  throw Error(cat(name(family), ": no cpu kernel for ISA level ", name(isa)));
}

std::shared_ptr<const Kernel> make_dequant_amx_model_kernel(Family family) {
  return std::make_shared<DequantKernel>(
      family, CpuIsa::avx512_vnni, cat(name(family), "_amx_model"),
      MixedTiles{mixed_precision_tile_amx_model, mixed_precision_tile_pair_amx_model, true,
                 kAmxChunkRows});
}

}  // namespace qlinear::cpu
