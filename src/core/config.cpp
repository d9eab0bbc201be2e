// The family table: what each family admits, and the one validation routine that reads it.
#include "qlinear/config.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>

#include "qlinear/error.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
using G = Granularity;

template <typename E>
class Set {
 public:
  constexpr Set() = default;
  constexpr Set(std::initializer_list<E> items) {
    for (E e : items) bits_ |= 1u << static_cast<unsigned>(e);
  }
  constexpr bool has(E e) const { return (bits_ >> static_cast<unsigned>(e)) & 1u; }
  constexpr bool empty() const { return bits_ == 0; }
  template <typename Names>
  std::string list(Names names) const {
    std::string text;
    for (unsigned i = 0; i < 32; ++i)
      if ((bits_ >> i) & 1u) text += cat(text.empty() ? "" : ", ", names(static_cast<E>(i)));
    return text;
  }

 private:
  uint32_t bits_ = 0;
};

struct FamilySpec {
  Family family;
  std::string_view name;
  Set<T> weight_types;
  Set<G> weight_scales;
  Set<T> weight_scale_types;
  int64_t fixed_group;  // group size the format prescribes, 0 when free
  bool zero_points;     // weight zero points admitted
  bool act_order;
  bool global_scale;
  std::optional<T> act_quant;  // required activation type; nullopt for weight-only families
  Set<G> act_scales;
  bool act_static;      // static (checkpoint) per-tensor activation scales admitted
  bool act_dynamic;     // dynamic (per call) activation scales admitted
  int64_t fixed_act_group;  // activation group the format prescribes; -1: equals weight group_size
  bool act_zero_points;
};

constexpr Set<T> kHighPrecision{T::bf16, T::fp16, T::fp32};

// A family is named for what its weights are, so `qlinear kernels` and `select` read as the
// checkpoint does: MXFP4 weight-only is its own row rather than mxfp8_weight_only admitting e2m1
// weights, though the two share the e8m0 scale per 32, because a kernel named
// mxfp8_weight_only_* running a gpt-oss layer would say the wrong format, and because a 4-bit and
// an 8-bit kernel differ in everything but the scales (packing, bytes read, tile shapes).
// fp8_weight_only (W8A16) is the weight half of fp8_scaled_mm: the same e4m3 weights and scales,
// activations left in 16 bits, for platforms without FP8 arithmetic (serving_config in
// qlinear/registry.hpp). mxfp4 (W4A4) is mxfp8's scheme with e2m1 on both sides, a row of its own
// for the same reason as mxfp4_weight_only; its activation scale follows the OCP MX rule with
// e2m1's emax (qlinear/reference.hpp). w4a8_fp8 (W4A8-FP8) is w4a8_int's weights with e4m3
// activations per token: a row of its own because the codes, the tensor cores (FP8: sm_89 on) and
// the exactness (fp32 sums, not exact int32 ones) differ.
// clang-format off
const std::array<FamilySpec, kFamilyCount> kFamilies{{
  // family                      name                 weight types                                       weight scales                      scale types        group zp     order  global act quant            act scales                         static dynamic act group azp
  {Family::mixed_precision,    "mixed_precision",    {T::uint4b8, T::uint4, T::uint8b128, T::uint8, T::int8}, {G::per_channel, G::per_group},  kHighPrecision,    0,    true,  true,  false, std::nullopt,         {},                                 false, false,  0,  false},
  {Family::nvfp4_weight_only,  "nvfp4_weight_only",  {T::float4_e2m1f},                                 {G::per_group},                    {T::float8_e4m3fn}, 16,  false, false, true,  std::nullopt,         {},                                 false, false,  0,  false},
  {Family::mxfp8_weight_only,  "mxfp8_weight_only",  {T::float8_e4m3fn},                                {G::per_group},                    {T::float8_e8m0fnu}, 32, false, false, false, std::nullopt,         {},                                 false, false,  0,  false},
  {Family::mxfp4_weight_only,  "mxfp4_weight_only",  {T::float4_e2m1f},                                 {G::per_group},                    {T::float8_e8m0fnu}, 32, false, false, false, std::nullopt,         {},                                 false, false,  0,  false},
  {Family::fp8_weight_only,    "fp8_weight_only",    {T::float8_e4m3fn},                                {G::per_tensor, G::per_channel},   {T::fp32},         0,    false, false, false, std::nullopt,         {},                                 false, false,  0,  false},
  {Family::w4a8_int,           "w4a8_int",           {T::uint4b8},                                      {G::per_channel, G::per_group},    kHighPrecision,    0,    false, false, false, T::int8,              {G::per_token},                     false, true,   0,  false},
  {Family::w4a8_fp8,           "w4a8_fp8",           {T::uint4b8},                                      {G::per_channel, G::per_group},    kHighPrecision,    0,    false, false, false, T::float8_e4m3fn,     {G::per_token},                     false, true,   0,  false},
  {Family::int8_scaled_mm,     "int8_scaled_mm",     {T::int8},                                         {G::per_tensor, G::per_channel},   {T::fp32},         0,    false, false, false, T::int8,              {G::per_tensor, G::per_token},      true,  true,   0,  true},
  {Family::fp8_scaled_mm,      "fp8_scaled_mm",      {T::float8_e4m3fn},                                {G::per_tensor, G::per_channel},   {T::fp32},         0,    false, false, false, T::float8_e4m3fn,     {G::per_tensor, G::per_token},      true,  true,   0,  false},
  {Family::fp8_block,          "fp8_block",          {T::float8_e4m3fn},                                {G::block},                        {T::fp32},         0,    false, false, false, T::float8_e4m3fn,     {G::per_group},                     false, true,  -1,  false},
  {Family::nvfp4,              "nvfp4",              {T::float4_e2m1f},                                 {G::per_group},                    {T::float8_e4m3fn}, 16,  false, false, true,  T::float4_e2m1f,      {G::per_group},                     false, true,  16,  false},
  {Family::mxfp8,              "mxfp8",              {T::float8_e4m3fn},                                {G::per_group},                    {T::float8_e8m0fnu}, 32, false, false, false, T::float8_e4m3fn,     {G::per_group},                     false, true,  32,  false},
  {Family::mxfp4,              "mxfp4",              {T::float4_e2m1f},                                 {G::per_group},                    {T::float8_e8m0fnu}, 32, false, false, false, T::float4_e2m1f,      {G::per_group},                     false, true,  32,  false},
}};
// clang-format on

constexpr std::array<Family, kFamilyCount> kAllFamilies{Family::mixed_precision,
                                                        Family::nvfp4_weight_only,
                                                        Family::mxfp8_weight_only,
                                                        Family::mxfp4_weight_only,
                                                        Family::fp8_weight_only,
                                                        Family::w4a8_int,
                                                        Family::w4a8_fp8,
                                                        Family::int8_scaled_mm,
                                                        Family::fp8_scaled_mm,
                                                        Family::fp8_block,
                                                        Family::nvfp4,
                                                        Family::mxfp8,
                                                        Family::mxfp4};

constexpr std::array<std::string_view, 5> kGranularityNames{"per_tensor", "per_channel",
                                                            "per_token", "per_group", "block"};

const FamilySpec& spec(Family family) {
  const auto& s = kFamilies[static_cast<int>(family)];
  return s;
}

std::string_view type_name(T t) { return name(t); }
std::string_view granularity_name(G g) { return name(g); }

std::string field_error(const LayerConfig& c, std::string_view field, std::string_view problem) {
  return cat("layer config (", name(c.family), "): ", field, " ", problem);
}

void check_type(const LayerConfig& c, std::string_view field, T value, const Set<T>& allowed) {
  require(allowed.has(value),
          field_error(c, field, cat("is ", name(value), "; ", name(c.family), " accepts ",
                                    allowed.list(type_name))));
}

void validate_shape(const LayerConfig& c) {
  require(c.n > 0, field_error(c, "n", cat("is ", c.n, "; must be positive")));
  require(c.k > 0, field_error(c, "k", cat("is ", c.k, "; must be positive")));
  require(c.partition_n >= 0 && c.partition_n <= c.n,
          field_error(c, "partition_n", cat("is ", c.partition_n, "; must be in [0, n = ", c.n, "]")));
  require(c.partition_k >= 0 && c.partition_k <= c.k,
          field_error(c, "partition_k", cat("is ", c.partition_k, "; must be in [0, k = ", c.k, "]")));
}

void validate_weights(const LayerConfig& c, const FamilySpec& s) {
  check_type(c, "weight_type", c.weight_type, s.weight_types);
  if (info(c.weight_type).bits == 4)
    require(c.part_k() % 2 == 0, field_error(c, "partition k", cat("is ", c.part_k(),
                                             "; 4-bit weights pack two per byte along K, so K must be even")));
  require(s.weight_scales.has(c.weight_scale),
          field_error(c, "weight_scale", cat("is ", name(c.weight_scale), "; ", s.name, " accepts ",
                                             s.weight_scales.list(granularity_name))));
  check_type(c, "weight_scale_type", c.weight_scale_type, s.weight_scale_types);

  if (c.weight_scale == G::per_group || c.weight_scale == G::block) {
    require(c.group_size > 0, field_error(c, "group_size", cat("is ", c.group_size, "; ",
                                          name(c.weight_scale), " scales need a positive group size")));
    if (s.fixed_group)
      require(c.group_size == s.fixed_group,
              field_error(c, "group_size", cat("is ", c.group_size, "; the format prescribes ",
                                               s.fixed_group)));
  } else {
    require(c.group_size == 0, field_error(c, "group_size", cat("is ", c.group_size,
                                           "; only per_group and block scales have one (set 0)")));
  }
  if (c.weight_scale == G::per_group)
    require(c.part_k() % c.group_size == 0 && (!c.act_order || c.k % c.group_size == 0),
            field_error(c, "group_size", cat("is ", c.group_size, "; it must divide the partition K (",
                                             c.part_k(), c.act_order ? cat(") and K (", c.k) : "", ")")));
  if (c.weight_scale == G::block) {
    require(c.block_n > 0, field_error(c, "block_n", cat("is ", c.block_n, "; block scales need a positive block_n")));
  } else {
    require(c.block_n == 0, field_error(c, "block_n", cat("is ", c.block_n, "; only block scales have one (set 0)")));
  }

  const bool unsigned_codes = c.weight_type == T::uint4 || c.weight_type == T::uint8;
  if (c.zero_points) {
    require(s.zero_points, field_error(c, "zero_points", "are not part of this family"));
    require(unsigned_codes, field_error(c, "zero_points", cat("need an unsigned weight type (uint4, uint8); ",
                                         name(c.weight_type), " is symmetric by definition")));
  } else {
    require(!unsigned_codes, field_error(c, "zero_points", cat("are required for ", name(c.weight_type),
                                          " weights (use uint4b8 / uint8b128 for symmetric ones)")));
  }
  if (c.act_order) {
    require(s.act_order, field_error(c, "act_order", "is not part of this family"));
    require(c.weight_scale == G::per_group,
            field_error(c, "act_order", "needs per_group weight scales (g_idx maps K to groups)"));
  }
}

void validate_activations(const LayerConfig& c, const FamilySpec& s) {
  check_type(c, "act_type", c.act_type, kHighPrecision);
  check_type(c, "out_type", c.out_type, kHighPrecision);
  if (!s.act_quant) {
    require(!c.act_quant, field_error(c, "act_quant", cat("is ", name(*c.act_quant),
                                      "; this is a weight-only family (leave it unset)")));
    require(!c.act_zero_points && !c.act_scale_static && c.act_group_size == 0,
            field_error(c, "act_zero_points / act_scale_static / act_group_size",
                        "are set; this is a weight-only family"));
    return;
  }
  require(c.act_quant == s.act_quant,
          field_error(c, "act_quant", cat("is ", c.act_quant ? name(*c.act_quant) : "unset", "; ",
                                          s.name, " quantizes activations to ", name(*s.act_quant))));
  require(s.act_scales.has(c.act_scale),
          field_error(c, "act_scale", cat("is ", name(c.act_scale), "; ", s.name, " accepts ",
                                          s.act_scales.list(granularity_name))));
  if (c.act_scale_static) {
    require(s.act_static, field_error(c, "act_scale_static", "is set; this family's activation scales are dynamic"));
    require(c.act_scale == G::per_tensor,
            field_error(c, "act_scale_static", cat("is set with ", name(c.act_scale),
                                                   " scales; static scales are per_tensor")));
  } else {
    require(s.act_dynamic, field_error(c, "act_scale_static", "is unset; this family needs static activation scales"));
  }
  if (c.act_scale == G::per_group) {
    const int64_t expected = s.fixed_act_group == -1 ? c.group_size : s.fixed_act_group;
    require(c.act_group_size == expected,
            field_error(c, "act_group_size", cat("is ", c.act_group_size, "; ", s.name,
                                                 " quantizes activations in groups of ", expected,
                                                 s.fixed_act_group == -1 ? " (the weight block's K)" : "")));
    require(c.part_k() % c.act_group_size == 0 || s.fixed_act_group == -1,
            field_error(c, "act_group_size", cat("is ", c.act_group_size, "; it must divide the partition K (",
                                                 c.part_k(), ")")));
  } else {
    require(c.act_group_size == 0,
            field_error(c, "act_group_size", cat("is ", c.act_group_size, "; only per_group activation scales have one (set 0)")));
  }
  if (c.act_zero_points)
    require(s.act_zero_points, field_error(c, "act_zero_points", "are not part of this family (int8_scaled_mm only)"));
}

}  // namespace

std::string_view name(Family family) { return spec(family).name; }
std::span<const Family> all_families() { return kAllFamilies; }
std::optional<Family> parse_family(std::string_view text) {
  for (const auto& s : kFamilies)
    if (s.name == text) return s.family;
  return std::nullopt;
}

std::string_view name(Granularity g) { return kGranularityNames[static_cast<int>(g)]; }
std::optional<Granularity> parse_granularity(std::string_view text) {
  for (size_t i = 0; i < kGranularityNames.size(); ++i)
    if (kGranularityNames[i] == text) return static_cast<Granularity>(i);
  return std::nullopt;
}

int64_t LayerConfig::weight_groups_k() const { return weight_scale_shape()[1]; }

std::array<int64_t, 2> LayerConfig::weight_scale_shape() const {
  const int64_t pn = part_n(), pk = part_k();
  switch (weight_scale) {
    case G::per_tensor: return {1, 1};
    case G::per_channel: return {pn, 1};
    // Act order: a rank's K slice may name any group of the full K, so every group's scale stays.
    case G::per_group: return {pn, group_size > 0 ? (act_order ? k : pk) / group_size : 0};
    case G::block:
      return {block_n > 0 ? (pn + block_n - 1) / block_n : 0,
              group_size > 0 ? (pk + group_size - 1) / group_size : 0};
    case G::per_token: break;
  }
  return {0, 0};
}

bool LayerConfig::has_global_scale() const { return spec(family).global_scale; }

bool LayerConfig::has_static_input_scale() const {
  return act_scale_static || (act_quant && family == Family::nvfp4);
}

std::optional<ScalarType> LayerConfig::act_scale_type() const {
  if (!act_quant) return std::nullopt;
  if (family == Family::nvfp4) return T::float8_e4m3fn;
  if (family == Family::mxfp8 || family == Family::mxfp4) return T::float8_e8m0fnu;
  return T::fp32;
}

std::string LayerConfig::describe() const {
  std::string text = cat(name(family), " ", name(weight_type));
  if (zero_points) text += "+zp";
  switch (weight_scale) {
    case G::per_group: text += cat(" g", group_size); break;
    case G::block: text += cat(" block", block_n, "x", group_size); break;
    default: text += cat(" ", name(weight_scale)); break;
  }
  if (act_order) text += " act_order";
  text += cat(" ", name(act_type));
  if (act_quant) {
    text += cat("->", name(*act_quant), " ", act_scale_static ? "static " : "dynamic ",
                name(act_scale));
    if (act_scale == G::per_group) text += cat(act_group_size);
    if (act_zero_points) text += "+azp";
  }
  text += cat(" out ", name(out_type), bias ? " +bias" : "", " N=", part_n(), " K=", part_k());
  if (part_n() != n || part_k() != k) text += cat(" (of ", n, "x", k, ")");
  return text;
}

void validate(const LayerConfig& config) {
  const FamilySpec& s = spec(config.family);
  validate_shape(config);
  validate_weights(config, s);
  validate_activations(config, s);
}

LayerConfig default_config(Family family, int64_t n, int64_t k) {
  LayerConfig c;
  c.family = family;
  c.n = n;
  c.k = k;
  const FamilySpec& s = spec(family);
  switch (family) {
    case Family::mixed_precision:
      c.weight_type = T::uint4b8;
      c.weight_scale = G::per_group;
      c.weight_scale_type = T::bf16;
      c.group_size = 128;
      break;
    case Family::w4a8_int:
    case Family::w4a8_fp8:
      c.weight_type = T::uint4b8;
      c.weight_scale = G::per_group;
      c.weight_scale_type = T::fp32;
      c.group_size = 128;
      break;
    case Family::nvfp4_weight_only:
    case Family::nvfp4:
      c.weight_type = T::float4_e2m1f;
      c.weight_scale = G::per_group;
      c.weight_scale_type = T::float8_e4m3fn;
      c.group_size = 16;
      break;
    case Family::mxfp8_weight_only:
    case Family::mxfp8:
    case Family::mxfp4_weight_only:
    case Family::mxfp4:
      c.weight_type = family == Family::mxfp8_weight_only || family == Family::mxfp8
                          ? T::float8_e4m3fn
                          : T::float4_e2m1f;
      c.weight_scale = G::per_group;
      c.weight_scale_type = T::float8_e8m0fnu;
      c.group_size = 32;
      break;
    case Family::int8_scaled_mm:
    case Family::fp8_scaled_mm:
    case Family::fp8_weight_only:
      c.weight_type = family == Family::int8_scaled_mm ? T::int8 : T::float8_e4m3fn;
      c.weight_scale = G::per_channel;
      c.weight_scale_type = T::fp32;
      break;
    case Family::fp8_block:
      c.weight_type = T::float8_e4m3fn;
      c.weight_scale = G::block;
      c.weight_scale_type = T::fp32;
      c.group_size = 128;
      c.block_n = 128;
      break;
  }
  c.act_quant = s.act_quant;
  if (s.act_quant) {
    c.act_scale = s.act_scales.has(G::per_group) ? G::per_group : G::per_token;
    if (c.act_scale == G::per_group)
      c.act_group_size = s.fixed_act_group == -1 ? c.group_size : s.fixed_act_group;
  }
  return c;
}

}  // namespace qlinear
