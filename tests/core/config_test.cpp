// Every family's typical config is valid; bad configs are rejected with the field named.
#include <gtest/gtest.h>

#include <functional>

#include "qlinear/config.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
using G = Granularity;

TEST(Config, DefaultsOfEveryFamilyAreValid) {
  for (Family f : all_families()) {
    const LayerConfig c = default_config(f, 4096, 4096);
    EXPECT_NO_THROW(validate(c)) << name(f);
    EXPECT_EQ(parse_family(name(f)), f);
    EXPECT_FALSE(c.describe().empty());
  }
}

TEST(Config, ScaleShapes) {
  LayerConfig c = default_config(Family::fp8_block, 300, 520);
  EXPECT_EQ(c.weight_scale_shape(), (std::array<int64_t, 2>{3, 5}));
  c.partition_n = 150;
  EXPECT_EQ(c.weight_scale_shape(), (std::array<int64_t, 2>{2, 5}));
  LayerConfig g = default_config(Family::mixed_precision, 64, 512);
  EXPECT_EQ(g.weight_scale_shape(), (std::array<int64_t, 2>{64, 4}));
  g.weight_scale = G::per_channel, g.group_size = 0;
  EXPECT_EQ(g.weight_scale_shape(), (std::array<int64_t, 2>{64, 1}));
}

struct BadCase {
  const char* what;
  Family family;
  std::function<void(LayerConfig&)> change;
  const char* field;  // must appear in the message
};

TEST(Config, InvalidCombinationsNameTheField) {
  // A case a line.
  // clang-format off
  const BadCase cases[] = {
      {"zero n", Family::mixed_precision, [](LayerConfig& c) { c.n = 0; }, "n is 0"},
      {"partition past full", Family::mixed_precision, [](LayerConfig& c) { c.partition_n = 5000; }, "partition_n"},
      {"fp8 weight in mixed precision", Family::mixed_precision, [](LayerConfig& c) { c.weight_type = T::float8_e4m3fn; }, "weight_type"},
      {"group size zero", Family::mixed_precision, [](LayerConfig& c) { c.group_size = 0; }, "group_size"},
      {"group not dividing K", Family::mixed_precision, [](LayerConfig& c) { c.group_size = 96; }, "group_size"},
      {"nvfp4 group 32", Family::nvfp4, [](LayerConfig& c) { c.group_size = 32; c.act_group_size = 16; }, "group_size"},
      {"zero points on symmetric type", Family::mixed_precision, [](LayerConfig& c) { c.zero_points = true; }, "zero_points"},
      {"uint4 without zero points", Family::mixed_precision, [](LayerConfig& c) { c.weight_type = T::uint4; }, "zero_points"},
      {"act order per channel", Family::mixed_precision, [](LayerConfig& c) { c.weight_scale = G::per_channel; c.group_size = 0; c.act_order = true; }, "act_order"},
      {"act order in fp8", Family::fp8_scaled_mm, [](LayerConfig& c) { c.act_order = true; }, "act_order"},
      {"activation quant in weight-only", Family::mixed_precision, [](LayerConfig& c) { c.act_quant = T::int8; }, "act_quant"},
      {"wrong act quant", Family::fp8_scaled_mm, [](LayerConfig& c) { c.act_quant = T::int8; }, "act_quant"},
      {"static per token", Family::int8_scaled_mm, [](LayerConfig& c) { c.act_scale_static = true; }, "act_scale_static"},
      {"block act group mismatch", Family::fp8_block, [](LayerConfig& c) { c.act_group_size = 64; }, "act_group_size"},
      {"azp on fp8", Family::fp8_scaled_mm, [](LayerConfig& c) { c.act_zero_points = true; }, "act_zero_points"},
      {"odd K for 4-bit", Family::mixed_precision, [](LayerConfig& c) { c.k = 127; c.weight_scale = G::per_channel; c.group_size = 0; }, "K must be even"},
      {"fp8 output type", Family::fp8_scaled_mm, [](LayerConfig& c) { c.out_type = T::float8_e4m3fn; }, "out_type"},
      {"int8 activations given", Family::int8_scaled_mm, [](LayerConfig& c) { c.act_type = T::int8; }, "act_type"},
      {"mx scales in e4m3", Family::mxfp8, [](LayerConfig& c) { c.weight_scale_type = T::float8_e4m3fn; }, "weight_scale_type"},
      {"block without block_n", Family::fp8_block, [](LayerConfig& c) { c.block_n = 0; }, "block_n"},
      {"w4a8_fp8 int8 activations", Family::w4a8_fp8, [](LayerConfig& c) { c.act_quant = T::int8; }, "act_quant is int8; w4a8_fp8 quantizes activations to float8_e4m3fn"},
      {"w4a8_fp8 static activations", Family::w4a8_fp8, [](LayerConfig& c) { c.act_scale = G::per_tensor; c.act_scale_static = true; }, "act_scale"},
      {"w4a8_fp8 fp8 weights", Family::w4a8_fp8, [](LayerConfig& c) { c.weight_type = T::float8_e4m3fn; }, "weight_type is float8_e4m3fn; w4a8_fp8 accepts uint4b8"},
      {"mxfp4 group 16", Family::mxfp4_weight_only, [](LayerConfig& c) { c.group_size = 16; }, "the format prescribes 32"},
      {"mxfp4 e4m3 scales", Family::mxfp4_weight_only, [](LayerConfig& c) { c.weight_scale_type = T::float8_e4m3fn; }, "weight_scale_type"},
      {"mxfp4 e4m3 weights", Family::mxfp4_weight_only, [](LayerConfig& c) { c.weight_type = T::float8_e4m3fn; }, "weight_type"},
      {"fp8 weight-only per group", Family::fp8_weight_only, [](LayerConfig& c) { c.weight_scale = G::per_group; c.group_size = 128; }, "weight_scale"},
      {"fp8 weight-only act quant", Family::fp8_weight_only, [](LayerConfig& c) { c.act_quant = T::float8_e4m3fn; }, "weight-only family"},
      {"fp8 weight-only static scale", Family::fp8_weight_only, [](LayerConfig& c) { c.act_scale_static = true; }, "weight-only family"},
      {"mxfp4 w4a4 e4m3 activations", Family::mxfp4, [](LayerConfig& c) { c.act_quant = T::float8_e4m3fn; }, "act_quant is float8_e4m3fn; mxfp4 quantizes activations to float4_e2m1f"},
      {"mxfp4 w4a4 act group 16", Family::mxfp4, [](LayerConfig& c) { c.act_group_size = 16; }, "act_group_size is 16; mxfp4 quantizes activations in groups of 32"},
      {"mxfp4 w4a4 per-token act", Family::mxfp4, [](LayerConfig& c) { c.act_scale = G::per_token; c.act_group_size = 0; }, "act_scale is per_token"},
      {"mxfp4 w4a4 static act", Family::mxfp4, [](LayerConfig& c) { c.act_scale_static = true; }, "act_scale_static"},
      {"mxfp4 w4a4 e4m3 weights", Family::mxfp4, [](LayerConfig& c) { c.weight_type = T::float8_e4m3fn; }, "weight_type is float8_e4m3fn; mxfp4 accepts float4_e2m1f"},
      {"mxfp4 w4a4 group 64", Family::mxfp4, [](LayerConfig& c) { c.group_size = 64; }, "the format prescribes 32"},
      {"mxfp4 w4a4 K off the group", Family::mxfp4, [](LayerConfig& c) { c.k = 4112; }, "group_size is 32; it must divide the partition K (4112)"},
      {"per-group act in int8", Family::int8_scaled_mm, [](LayerConfig& c) { c.act_scale = G::per_group; c.act_group_size = 128; }, "act_scale"},
  };
  // clang-format on
  for (const BadCase& bad : cases) {
    LayerConfig c = default_config(bad.family, 4096, 4096);
    bad.change(c);
    try {
      validate(c);
      ADD_FAILURE() << bad.what << ": accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad.field), std::string::npos)
          << bad.what << ": message does not name " << bad.field << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace qlinear
