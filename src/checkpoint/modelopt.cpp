// NVIDIA ModelOpt (hf_quant_config.json "quantization", or config.json quantization_config with
// quant_method "modelopt"), by quant_algo:
//   FP8                        weight e4m3 [N, K], weight_scale fp32 [] , input_scale fp32 []
//   (static) FP8_PER_CHANNEL_PER_TOKEN  weight e4m3 [N, K], weight_scale fp32 [N] or [N, 1],
//   dynamic per token NVFP4                      weight uint8 [N, K/2] (e2m1 pairs, low nibble =
//   even k; or F4 [N, K]), weight_scale
//                              e4m3 [N, K/16], weight_scale_2 fp32 [] (global: w = q · scale ·
//                              scale_2), input_scale fp32 [] = amax / (448 · 6)
//   MXFP8                      weight e4m3 [N, K], weight_scale e8m0 (U8) [N, K/32], dynamic per 32
// exclude_modules lists layers left unquantized, with '*' wildcards.
#include "checkpoint/convert.hpp"

namespace qlinear::checkpoint {

bool modelopt_excludes(const json& quant, std::string_view layer) {
  if (!quant.is_object() || !quant.contains("exclude_modules")) return false;
  const json& list = quant["exclude_modules"];
  if (!list.is_array()) return false;
  for (const auto& pattern : list) {
    if (!pattern.is_string()) continue;
    const auto& text = pattern.get_ref<const std::string&>();
    require(text.size() <= kMaxPatternLength, "ModelOpt exclude_modules: a pattern of ",
            text.size(), " characters; at most ", kMaxPatternLength, " are read");
    if (glob_match(text, layer)) return true;
  }
  return false;
}

CheckpointLayer load_modelopt(const LayerSource& src) {
  const std::string where = cat(src.where(), "ModelOpt quantization.");
  const std::string algo = json_string(src.quant, "quant_algo", "", where);
  require(!modelopt_excludes(src.quant, src.prefix), src.where(),
          "the layer is in exclude_modules, yet its weight is quantized");
  if (algo == "NVFP4") {
    const int64_t group = json_int(src.quant, "group_size", 16, where, 1, kMaxConfigSize);
    require(group == 16, where, "group_size is ", group, "; NVFP4 scales cover 16 along K");
    const auto [weight, n, k] = src.need_fp4_codes("weight");
    CheckpointLayer layer =
        start_layer(src, "modelopt nvfp4", base_config(src.checkpoint, Family::nvfp4, n, k));
    read_microscaled(src, layer, "weight");
    layer.weight_global_scale =
        fp32_scalar(src.need_scalar("weight_scale_2", {Dtype::F32}).value(0));
    layer.input_scale = fp32_scalar(src.need_scalar("input_scale", {Dtype::F32}).value(0));
    return finish_layer(std::move(layer));
  }

  const TensorEntry& weight =
      src.need("weight", {Dtype::F8_E4M3}, std::nullopt, cat("quant_algo ", algo));
  require(weight.shape.size() == 2, src.where(), weight.describe(), " should be 2-D");
  const int64_t n = weight.shape[0], k = weight.shape[1];
  if (algo == "MXFP8") {
    CheckpointLayer layer =
        start_layer(src, "modelopt mxfp8", base_config(src.checkpoint, Family::mxfp8, n, k));
    read_microscaled(src, layer, "weight");
    return finish_layer(std::move(layer));
  }
  require(algo == "FP8" || algo == "FP8_PER_CHANNEL_PER_TOKEN", where, "quant_algo is '", algo,
          "'; qlinear reads FP8, FP8_PER_CHANNEL_PER_TOKEN, NVFP4 and MXFP8");
  const bool per_channel = algo == "FP8_PER_CHANNEL_PER_TOKEN";
  LayerConfig c = base_config(src.checkpoint, Family::fp8_scaled_mm, n, k);  // e4m3, fp32 scales
  c.weight_scale = per_channel ? Granularity::per_channel : Granularity::per_tensor;
  c.act_scale = per_channel ? Granularity::per_token : Granularity::per_tensor;
  c.act_scale_static = !per_channel;
  CheckpointLayer layer =
      start_layer(src, cat("modelopt ", per_channel ? "fp8 per-channel" : "fp8"), c);
  layer.weight = read_window(weight, ScalarType::float8_e4m3fn, n, k, src.window(layer.config));
  layer.weight_scale = read_scale(src, "weight_scale", layer.config, ScalarType::fp32);
  if (!per_channel)
    layer.input_scale =
        fp32_scalar(src.need_scalar("input_scale", {Dtype::F32, Dtype::BF16, Dtype::F16}).value(0));
  return finish_layer(std::move(layer));
}

}  // namespace qlinear::checkpoint
