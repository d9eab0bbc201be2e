#include "config_flags.hpp"

#include "qlinear/error.hpp"

namespace qlinear::tool {
namespace {

ScalarType type_flag(std::string_view flag, const std::string& text) {
  const auto t = parse_scalar_type(text);
  require(t.has_value(), "--", flag, " '", text, "': unknown scalar type");
  return *t;
}

Granularity granularity_flag(std::string_view flag, const std::string& text) {
  const auto g = parse_granularity(text);
  require(g.has_value(), "--", flag, " '", text,
          "': expected per_tensor, per_channel, per_token, per_group or block");
  return *g;
}

}  // namespace

void ConfigFlags::add_to(CLI::App& command) {
  command.add_option("--family", family_, "layer family (mixed_precision, fp8_scaled_mm, ...)");
  command.add_option("--n", n_, "output features N of the full layer");
  command.add_option("--k", k_, "input features K of the full layer");
  command.add_option("--partition-n", partition_n_, "N of this tensor-parallel rank (0: full)");
  command.add_option("--partition-k", partition_k_, "K of this tensor-parallel rank (0: full)");
  command.add_option("--weight-type", weight_type_, "weight scalar type (uint4b8, uint4, int8, float8_e4m3fn, ...)");
  command.add_option("--weight-scale", weight_scale_, "per_tensor, per_channel, per_group or block");
  command.add_option("--weight-scale-type", weight_scale_type_, "scalar type of the weight scales");
  command.add_option("--group-size", group_size_, "K elements per weight scale (per_group) or block K");
  command.add_option("--block-n", block_n_, "N extent of a weight scale block");
  command.add_flag("--zero-points", zero_points_, "weights have zero points");
  command.add_flag("--act-order", act_order_, "weights have act order (g_idx)");
  command.add_option("--act-type", act_type_, "activation type given to the layer (bf16, fp16, fp32)");
  command.add_option("--act-quant", act_quant_, "type activations are quantized to");
  command.add_option("--act-scale", act_scale_, "per_tensor, per_token or per_group");
  command.add_flag("--act-static", act_static_, "static (checkpoint) activation scale");
  command.add_option("--act-group-size", act_group_size_, "K elements per activation scale");
  command.add_flag("--azp", azp_, "asymmetric int8 activations (zero points)");
  command.add_option("--out-type", out_type_, "output type (bf16, fp16, fp32)");
  command.add_flag("--bias", bias_, "the layer has a bias");
}

LayerConfig ConfigFlags::config() const {
  const auto family = parse_family(family_);
  require(family.has_value(), "--family '", family_, "': unknown family");
  LayerConfig c = default_config(*family, n_, k_);
  c.partition_n = partition_n_;
  c.partition_k = partition_k_;
  if (!weight_type_.empty()) c.weight_type = type_flag("weight-type", weight_type_);
  if (!weight_scale_.empty()) {
    c.weight_scale = granularity_flag("weight-scale", weight_scale_);
    if (c.weight_scale != Granularity::per_group && c.weight_scale != Granularity::block) c.group_size = 0;
    if (c.weight_scale != Granularity::block) c.block_n = 0;
  }
  if (!weight_scale_type_.empty()) c.weight_scale_type = type_flag("weight-scale-type", weight_scale_type_);
  if (group_size_ >= 0) c.group_size = group_size_;
  if (block_n_ >= 0) c.block_n = block_n_;
  c.zero_points = zero_points_;
  c.act_order = act_order_;
  if (!act_type_.empty()) c.act_type = type_flag("act-type", act_type_);
  if (!act_quant_.empty()) c.act_quant = type_flag("act-quant", act_quant_);
  if (!act_scale_.empty()) {
    c.act_scale = granularity_flag("act-scale", act_scale_);
    if (c.act_scale != Granularity::per_group) c.act_group_size = 0;
  }
  c.act_scale_static = act_static_;
  if (act_group_size_ >= 0) c.act_group_size = act_group_size_;
  c.act_zero_points = azp_;
  if (!out_type_.empty()) c.out_type = type_flag("out-type", out_type_);
  c.bias = bias_;
  validate(c);
  return c;
}

}  // namespace qlinear::tool
