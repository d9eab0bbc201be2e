// quant_method "fp8" (vLLM's Fp8Config, as DeepSeek-V3 and Qwen FP8 checkpoints write it):
//   weight_block_size [bn, bk]: weight e4m3 [N, K], weight_scale_inv fp32 [ceil(N/bn), ceil(K/bk)],
//     which despite its name multiplies: w = q · weight_scale_inv[n / bn, k / bk]; activations are
//     quantized dynamically per 1 x bk group
//   no block size: weight e4m3 [N, K], weight_scale (or weight_scale_inv) fp32 per tensor;
//     activation_scheme "static" reads input_scale, "dynamic" quantizes x per tensor per call
#include "checkpoint/convert.hpp"

namespace qlinear::checkpoint {

CheckpointLayer load_fp8(const LayerSource& src) {
  const std::string where = cat(src.where(), "quantization_config.");
  const std::string fmt = json_string(src.quant, "fmt", "e4m3", where);
  require(fmt == "e4m3", where, "fmt is '", fmt, "'; qlinear reads e4m3 weights");
  const std::string scheme = json_string(src.quant, "activation_scheme", "dynamic", where);
  require(scheme == "dynamic" || scheme == "static", where, "activation_scheme is '", scheme,
          "'; expected dynamic or static");
  const TensorEntry& weight = src.need("weight", {Dtype::F8_E4M3});
  require(weight.shape.size() == 2, src.where(), weight.describe(), " should be [N, K]");
  const int64_t n = weight.shape[0], k = weight.shape[1];
  LayerConfig c = base_config(src.checkpoint, Family::fp8_scaled_mm, n, k);  // e4m3, fp32 scales

  if (src.quant.contains("weight_block_size") && !src.quant["weight_block_size"].is_null()) {
    const json& block = src.quant["weight_block_size"];
    require(block.is_array() && block.size() == 2, where, "weight_block_size is ", block.dump(),
            "; expected [block_n, block_k]");
    const std::string entry = where + "weight_block_size entry";
    require(scheme == "dynamic", where,
            "activation_scheme is static; block-scaled fp8 quantizes activations per call");
    c.family = Family::fp8_block;
    c.weight_scale = Granularity::block;
    c.block_n = json_int_value(block[0], entry, 1, kMaxConfigSize);
    c.group_size = json_int_value(block[1], entry, 1, kMaxConfigSize);
    c.act_scale = Granularity::per_group;
    c.act_group_size = c.group_size;
    CheckpointLayer layer = start_layer(src, cat("fp8 block ", c.block_n, "x", c.group_size), c);
    const auto shape = c.weight_scale_shape();
    src.need("weight_scale_inv", kFloatScales, std::vector<int64_t>{shape[0], shape[1]},
             cat("[ceil(N / ", c.block_n, "), ceil(K / ", c.group_size, ")]"));
    layer.weight = read_window(weight, ScalarType::float8_e4m3fn, n, k, src.window(layer.config));
    layer.weight_scale = read_scale(src, "weight_scale_inv", layer.config, ScalarType::fp32);
    return finish_layer(std::move(layer));
  }
  c.weight_scale = Granularity::per_tensor;
  c.act_scale = Granularity::per_tensor;
  c.act_scale_static = scheme == "static";
  CheckpointLayer layer = start_layer(src, cat("fp8 per-tensor ", scheme), c);
  layer.weight = read_window(weight, ScalarType::float8_e4m3fn, n, k, src.window(layer.config));
  layer.weight_scale =
      read_scale(src, src.find("weight_scale_inv") ? "weight_scale_inv" : "weight_scale",
                 layer.config, ScalarType::fp32);
  if (c.act_scale_static)
    layer.input_scale = fp32_scalar(src.need_scalar("input_scale", kFloatScales).value(0));
  return finish_layer(std::move(layer));
}

}  // namespace qlinear::checkpoint
