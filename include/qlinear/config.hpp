// Layer configs. A layer computes y[M, N] = x[M, K] · W[N, K]ᵀ (+ bias) where W, and for the
// scaled-mm families x too, is stored in a low-precision format with scales. One LayerConfig type
// describes every family; the family table (src/core/family.cpp) says, for each family, which
// weight types, scale granularities and activation schemes it admits, so that validation and
// selection are one piece of code for all families rather than one per family.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "qlinear/scalar_type.hpp"

namespace qlinear {

enum class Family : uint8_t {
  mixed_precision,    // W4A16 / W8A16: integer weights, group or channel scales, bf16/fp16 x
  nvfp4_weight_only,  // e2m1 weights, e4m3 scales per 16 along K, fp32 global scale
  mxfp8_weight_only,  // e4m3 weights, e8m0 scales per 32 along K
  mxfp4_weight_only,  // e2m1 weights (two a byte), e8m0 scales per 32 along K (gpt-oss)
  fp8_weight_only,    // e4m3 weights, fp32 per-tensor or per-channel scales (W8A16)
  w4a8_int,           // int4 symmetric grouped weights, int8 per-token activations
  w4a8_fp8,           // int4 symmetric grouped weights, e4m3 per-token activations (W4A8-FP8)
  int8_scaled_mm,     // W8A8 int8: per-tensor/per-channel weights, static/dynamic activations, azp
  fp8_scaled_mm,      // W8A8 e4m3: per-tensor/per-channel weights, static/dynamic activations
  fp8_block,          // e4m3, 128x128 weight blocks, 1x128 dynamic activation groups
  nvfp4,              // W4A4 e2m1 with e4m3 scales per 16 and fp32 globals
  mxfp8,              // W8A8 e4m3 with e8m0 scales per 32
  mxfp4,              // W4A4 e2m1 with e8m0 scales per 32, activations quantized per call
};
inline constexpr int kFamilyCount = 13;
std::string_view name(Family family);
std::optional<Family> parse_family(std::string_view text);
std::span<const Family> all_families();

enum class Granularity : uint8_t {
  per_tensor,   // one scale
  per_channel,  // weights: one scale per output row n
  per_token,    // activations: one scale per row m of x
  per_group,    // one scale per group of `group_size` consecutive K (for each n, or each m)
  block,        // weights: one scale per block of block_n x group_size
};
std::string_view name(Granularity granularity);
std::optional<Granularity> parse_granularity(std::string_view text);

struct LayerConfig {
  Family family = Family::mixed_precision;
  // Full weight shape [n, k] and this tensor-parallel rank's partition of it (0 = the full size).
  int64_t n = 0;
  int64_t k = 0;
  int64_t partition_n = 0;
  int64_t partition_k = 0;

  // ---- weights
  ScalarType weight_type = ScalarType::uint4b8;
  Granularity weight_scale = Granularity::per_group;
  ScalarType weight_scale_type = ScalarType::bf16;
  int64_t group_size = 0;  // per_group: K elements per scale; block: K extent of a block
  int64_t block_n = 0;     // block: N extent of a block
  bool zero_points = false;  // integer zero points on the scale grid (uint4 / uint8 weights)
  bool act_order = false;    // g_idx maps each K position to its group (GPTQ desc_act)

  // ---- activations
  ScalarType act_type = ScalarType::bf16;  // dtype of x as given to the layer
  std::optional<ScalarType> act_quant;     // what x is quantized to; nullopt: weight-only
  Granularity act_scale = Granularity::per_token;
  bool act_scale_static = false;  // per-tensor scale from the checkpoint instead of per call
  int64_t act_group_size = 0;     // per_group: K elements per activation scale
  bool act_zero_points = false;   // asymmetric int8 activations (azp)

  // ---- output
  ScalarType out_type = ScalarType::bf16;
  bool bias = false;

  // The shape this rank computes: [part_n(), part_k()].
  int64_t part_n() const { return partition_n ? partition_n : n; }
  int64_t part_k() const { return partition_k ? partition_k : k; }
  // Number of weight scale groups along K (1 for per-tensor and per-channel).
  int64_t weight_groups_k() const;
  // Canonical weight-scale (and zero-point) tensor shape: [rows, cols] over the partition.
  //   per_tensor [1, 1]; per_channel [N, 1]; per_group [N, K / group_size] (with act_order, the
  //   full K: a rank's g_idx may name any group);
  //   block [ceil(N / block_n), ceil(K / group_size)].
  std::array<int64_t, 2> weight_scale_shape() const;
  // Family-implied parts.
  bool has_global_scale() const;         // nvfp4 families: fp32 global weight scale
  bool has_static_input_scale() const;   // input_scale tensor present (static, or nvfp4's global)
  std::optional<ScalarType> act_scale_type() const;  // fp32, e4m3 (nvfp4) or e8m0 (mxfp8, mxfp4)

  // One line, e.g. "mixed_precision uint4b8 g128 bf16->bf16 N=4096 K=4096".
  std::string describe() const;
};

// Throws qlinear::Error naming the first field that is invalid for the family, with the value
// and what is accepted.
void validate(const LayerConfig& config);

// The typical layer of a family (its usual weight type, scales and activation scheme) with the
// given shape. The result passes validate() for shapes the family accepts.
LayerConfig default_config(Family family, int64_t n, int64_t k);

}  // namespace qlinear
