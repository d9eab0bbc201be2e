// compressed-tensors (llm-compressor). quantization_config.config_groups name, per group of
// targets, the weight and input-activation quantization args; "ignore" lists layers left alone.
// Formats read here:
//   pack-quantized        weight_packed int32 [N, ceil(K·bits/32)]: codes + 2^(bits-1), packed
//                         along K low bits first; weight_shape [2] = (N, K); weight_scale [N, G]
//                         or [N, 1]; asymmetric: weight_zero_point int32 [ceil(N·bits/32), G]
//                         packed along N the same way; actorder "group": weight_g_idx [K]
//   int-quantized         weight int8 [N, K]; weight_scale [1] or [N, 1]; static activations:
//                         input_scale [1], input_zero_point [1] when asymmetric
//   float-quantized       weight e4m3 [N, K]; weight_scale [1], [N, 1], block [ceil(N/bn),
//   ceil(K/bk)]
//                         or, with e8m0 (U8) scales per 32 along K, MXFP8; input_scale when static
//   mxfp8-quantized       weight e4m3 [N, K], weight_scale e8m0 as U8 [N, K/32] (auto-round)
//   nvfp4-pack-quantized  weight_packed uint8 [N, K/2] (e2m1, low nibble first), weight_scale e4m3
//                         [N, K/16]; weight_global_scale and input_global_scale are *divisors*
//                         (w = q · scale / global), the reciprocals of qlinear's global scales
//   mxfp4-pack-quantized  weight_packed uint8 [N, K/2] (e2m1, low nibble first), weight_scale e8m0
//                         as U8 [N, K/32]; no global scale (vLLM's CompressedTensorsW4A16Mxfp4)
// float-quantized without input_activations is FP8 weight-only (W8A16).
#include "checkpoint/convert.hpp"

namespace qlinear::checkpoint {
namespace {

bool target_matches(const std::string& target, std::string_view layer, const std::string& where) {
  if (target == "Linear") return true;  // the module class: every linear layer
  if (target.starts_with("re:"))
    return ModuleRegex(std::string_view(target).substr(3), where).matches_start(layer);
  return target == layer;
}

bool any_matches(const json& list, std::string_view layer, const std::string& where) {
  if (!list.is_array()) return false;
  for (const auto& t : list)
    if (t.is_string() && target_matches(t.get<std::string>(), layer, where)) return true;
  return false;
}

// The config group whose targets match the layer, or nullptr.
const json* scheme_of(const json& quant, std::string_view layer, const std::string& where) {
  if (!quant.contains("config_groups") || !quant["config_groups"].is_object()) return nullptr;
  for (const auto& [name, group] : quant["config_groups"].items())
    if (group.is_object() && any_matches(group.value("targets", json::array()), layer, where))
      return &group;
  return nullptr;
}

struct Args {
  int64_t bits = 0;
  std::string type, strategy, actorder;
  bool symmetric = true, dynamic = false;
  int64_t group_size = 0;
  std::vector<int64_t> block;

  Args(const json& a, const std::string& where) {
    bits = json_int(a, "num_bits", 8, where, 1, 32);
    type = json_string(a, "type", "int", where);
    strategy = json_string(a, "strategy", "tensor", where);
    symmetric = json_bool(a, "symmetric", true, where);
    group_size = json_int(a, "group_size", 0, where, -1, kMaxConfigSize);
    if (a.contains("dynamic") && a["dynamic"].is_string()) {
      dynamic =
          a["dynamic"].get<std::string>() != "false";  // "local" (nvfp4 activations) is dynamic
    } else {
      dynamic = json_bool(a, "dynamic", false, where);
    }
    if (a.contains("actorder") && a["actorder"].is_string())
      actorder = a["actorder"].get<std::string>();
    if (a.contains("block_structure") && a["block_structure"].is_array())
      for (const auto& b : a["block_structure"])
        block.push_back(json_int_value(b, where + "block_structure entry", 1, kMaxConfigSize));
  }
};

void read_static_input(const LayerSource& src, CheckpointLayer& layer, const Args& in) {
  LayerConfig& c = layer.config;
  if (in.dynamic) return;
  c.act_scale_static = true;
  c.act_scale = Granularity::per_tensor;
  layer.input_scale = fp32_scalar(src.need_scalar("input_scale", kFloatScales).value(0));
  if (!in.symmetric) {
    c.act_zero_points = true;
    const TensorEntry& zp = src.need_scalar("input_zero_point", {Dtype::I8, Dtype::I32, Dtype::U8});
    layer.input_zero_point = Tensor::empty(ScalarType::int32, {1}, Device::cpu(), Lifetime::layer);
    *layer.input_zero_point.data_as<int32_t>() = static_cast<int32_t>(zp.value(0));
  }
}

CheckpointLayer pack_quantized(const LayerSource& src, const Args& w, const json* input,
                               const std::string& where) {
  require(w.type == "int" && (w.bits == 4 || w.bits == 8), where, "weights are ", w.type, w.bits,
          "; pack-quantized holds int4 or int8");
  require(w.strategy == "group" || w.strategy == "channel", where, "weights.strategy is '",
          w.strategy, "'; pack-quantized is read with group or channel scales");
  const int bits = static_cast<int>(w.bits), per_word = 32 / bits;
  const TensorEntry& shape = src.need("weight_shape", {Dtype::I64, Dtype::I32},
                                      std::vector<int64_t>{2}, "the unpacked weight shape (N, K)");
  // Checked as doubles first: an int64 cast of an out-of-range value is undefined.
  const double n_value = shape.value(0), k_value = shape.value(1);
  require(n_value >= 1 && k_value >= 1 && n_value <= 0x1p40 && k_value <= 0x1p40, src.where(),
          shape.describe(), " holds (", n_value, ", ", k_value, "); expected positive sizes");
  const auto n = static_cast<int64_t>(n_value), k = static_cast<int64_t>(k_value);
  const int64_t words = (k + per_word - 1) / per_word;
  const TensorEntry& packed =
      src.need("weight_packed", {Dtype::I32}, std::vector<int64_t>{n, words},
               cat("[N, ceil(K / ", per_word, ")] codes packed along K"));
  const bool group = w.strategy == "group";
  require(!group || (w.group_size > 0 && k % w.group_size == 0), where, "weights.group_size is ",
          w.group_size, "; it must divide K = ", k);
  const int64_t groups = group ? k / w.group_size : 1;

  Args in(json::object(), where);
  const bool w4a8 = input && input->is_object();
  if (w4a8) {
    in = Args(*input, where + "input_activations.");
    require(bits == 4 && w.symmetric && (in.type == "int" || in.type == "float") && in.bits == 8 &&
                in.dynamic && in.strategy == "token" && in.symmetric,
            where, "int", bits, " weights with ", in.type, in.bits, " ", in.strategy,
            " activations: qlinear reads W4A8 as symmetric int4 weights with dynamic per-token "
            "int8 (w4a8_int) or float8 (w4a8_fp8) activations");
  }
  const Family family = !w4a8                ? Family::mixed_precision
                        : in.type == "float" ? Family::w4a8_fp8
                                             : Family::w4a8_int;
  LayerConfig c = base_config(src.checkpoint, family, n, k);
  c.weight_type = bits == 4 ? (w.symmetric ? ScalarType::uint4b8 : ScalarType::uint4)
                            : (w.symmetric ? ScalarType::uint8b128 : ScalarType::uint8);
  c.zero_points = !w.symmetric;
  c.weight_scale = group ? Granularity::per_group : Granularity::per_channel;
  c.group_size = group ? w.group_size : 0;
  c.act_order = group && w.actorder == "group";
  if (w4a8) c.act_quant = family == Family::w4a8_fp8 ? ScalarType::float8_e4m3fn : ScalarType::int8;
  const TensorEntry& scale = src.need("weight_scale", kFloatScales, std::vector<int64_t>{n, groups},
                                      group ? "[N, K / group_size]" : "[N, 1] per channel");
  c.weight_scale_type = scale_type_of(scale);
  CheckpointLayer layer =
      start_layer(src,
                  cat("compressed-tensors pack-quantized ",
                      !w4a8                        ? ""
                      : family == Family::w4a8_fp8 ? "w4a8-fp8 "
                                                   : "w4a8 ",
                      "int", bits, w.symmetric ? " sym" : " asym", c.act_order ? " act-order" : ""),
                  c);
  const Window part = src.window(layer.config), cells = scale_window(c, part);
  layer.weight_scale = read_window(scale, c.weight_scale_type, n, groups, cells);
  // Row n's codes, low bits first, are the canonical row's codes followed by the padding of its
  // last word: the rows of a [N, words · per_word] matrix of codes.
  layer.weight = copy_window(packed.data, c.weight_type, words * per_word, part);
  if (!w.symmetric) {
    const int64_t zp_rows = (n + per_word - 1) / per_word;
    const TensorEntry& zp =
        src.need("weight_zero_point", {Dtype::I32}, std::vector<int64_t>{zp_rows, groups},
                 cat("[ceil(N / ", per_word, "), groups] zero points packed along N"));
    layer.weight_zero_point = Tensor::empty(ScalarType::uint8, {cells.rows(), cells.cols()},
                                            Device::cpu(), Lifetime::layer);
    for (int64_t nn = cells.row0; nn < cells.row1; ++nn)
      for (int64_t g = cells.col0; g < cells.col1; ++g)
        store_code(layer.weight_zero_point, (nn - cells.row0) * cells.cols() + g - cells.col0,
                   field(word(zp, (nn / per_word) * groups + g), bits, nn % per_word));
  }
  if (c.act_order)
    layer.g_idx = copy_range(
        src.need("weight_g_idx", {Dtype::I32}, std::vector<int64_t>{k}, "actorder group").data,
        ScalarType::int32, part.col0, part.col1);
  return finish_layer(std::move(layer));
}

CheckpointLayer int_quantized(const LayerSource& src, const Args& w, const json* input,
                              const std::string& where) {
  require(w.type == "int" && w.bits == 8, where, "weights are ", w.type, w.bits,
          "; int-quantized holds int8");
  const TensorEntry& weight = src.need("weight", {Dtype::I8});
  require(weight.shape.size() == 2, src.where(), weight.describe(), " should be [N, K]");
  const int64_t n = weight.shape[0], k = weight.shape[1];
  const bool act = input && input->is_object();
  LayerConfig c =
      base_config(src.checkpoint, act ? Family::int8_scaled_mm : Family::mixed_precision, n, k);
  c.group_size = 0;
  if (w.strategy == "tensor") {
    c.weight_scale = Granularity::per_tensor;
  } else if (w.strategy == "channel") {
    c.weight_scale = Granularity::per_channel;
  } else {
    require(w.strategy == "group" && !act, where, "weights.strategy is '", w.strategy,
            "'; int8 weights are read per tensor or per channel (or per group when weight-only)");
    c.weight_scale = Granularity::per_group;
    c.group_size = w.group_size;
  }
  if (act) {
    require(w.symmetric, where, "weights are asymmetric; int8 W8A8 weights are symmetric");
    const Args in(*input, where + "input_activations.");
    require(in.type == "int" && in.bits == 8, where, "input_activations are ", in.type, in.bits,
            "; int8 weights pair with int8 activations");
    require(in.strategy == "tensor" || (in.strategy == "token" && in.dynamic), where,
            "input_activations.strategy is '", in.strategy, "'", in.dynamic ? "" : " (static)",
            "; expected tensor, or token with dynamic scales");
    c.weight_type = ScalarType::int8;
    c.act_quant = ScalarType::int8;
    c.act_scale = in.strategy == "token" ? Granularity::per_token : Granularity::per_tensor;
    c.act_zero_points = !in.symmetric;
    c.weight_scale_type = ScalarType::fp32;
    CheckpointLayer layer = start_layer(src, "compressed-tensors int-quantized w8a8", c);
    read_static_input(src, layer, in);
    layer.weight = read_window(weight, ScalarType::int8, n, k, src.window(layer.config));
    layer.weight_scale = read_scale(src, "weight_scale", layer.config, ScalarType::fp32);
    return finish_layer(std::move(layer));
  }
  // Weight-only int8: symmetric int8, or asymmetric codes shifted to uint8 with uint8 zero points.
  c.weight_scale_type = scale_type_of(src.need("weight_scale", kFloatScales));
  c.weight_type = w.symmetric ? ScalarType::int8 : ScalarType::uint8;
  c.zero_points = !w.symmetric;
  CheckpointLayer layer = start_layer(src, "compressed-tensors int-quantized w8a16", c);
  layer.weight_scale = read_scale(src, "weight_scale", layer.config, c.weight_scale_type);
  const Window part = src.window(layer.config);
  if (w.symmetric) {
    layer.weight = read_window(weight, ScalarType::int8, n, k, part);
  } else {
    layer.weight = Tensor::empty(ScalarType::uint8, {part.rows(), part.cols()}, Device::cpu(),
                                 Lifetime::layer);
    for (int64_t nn = part.row0; nn < part.row1; ++nn)
      for (int64_t kk = part.col0; kk < part.col1; ++kk)
        store_code(layer.weight, (nn - part.row0) * part.cols() + kk - part.col0,
                   static_cast<uint32_t>(weight.value(nn * k + kk) + 128));
    const auto shape = c.weight_scale_shape();
    const TensorEntry& zp =
        src.need("weight_zero_point", {Dtype::I8}, std::vector<int64_t>{shape[0], shape[1]},
                 "int8 zero points on the scale grid");
    const Window cells = scale_window(c, part);
    layer.weight_zero_point = Tensor::empty(ScalarType::uint8, {cells.rows(), cells.cols()},
                                            Device::cpu(), Lifetime::layer);
    for (int64_t r = cells.row0; r < cells.row1; ++r)
      for (int64_t g = cells.col0; g < cells.col1; ++g)
        store_code(layer.weight_zero_point, (r - cells.row0) * cells.cols() + g - cells.col0,
                   static_cast<uint32_t>(zp.value(r * shape[1] + g) + 128));
  }
  return finish_layer(std::move(layer));
}

CheckpointLayer float_quantized(const LayerSource& src, const Args& w, const json* input,
                                bool mxfp8_format, const std::string& where) {
  require(w.type == "float" && w.bits == 8, where, "weights are ", w.type, w.bits,
          "; float-quantized holds float8 (e4m3)");
  const TensorEntry& weight = src.need("weight", {Dtype::F8_E4M3});
  require(weight.shape.size() == 2, src.where(), weight.describe(), " should be [N, K]");
  const int64_t n = weight.shape[0], k = weight.shape[1];
  const bool act = input && input->is_object();
  const Args in = act ? Args(*input, where + "input_activations.") : Args(json::object(), where);
  if (act)
    require(in.type == "float" && in.bits == 8, where, "input_activations are ", in.type, in.bits,
            "; float8 weights pair with float8 activations");

  // MXFP8: e8m0 scales per 32 along K (format mxfp8-quantized, or float-quantized with U8 scales).
  const TensorEntry* scale_entry = src.find("weight_scale");
  if (mxfp8_format || (w.strategy == "group" && scale_entry &&
                       (scale_entry->dtype == Dtype::U8 || scale_entry->dtype == Dtype::F8_E8M0))) {
    require(w.group_size == 32, where, "weights.group_size is ", w.group_size,
            "; MXFP8 scales cover 32 along K");
    LayerConfig c =
        base_config(src.checkpoint, act ? Family::mxfp8 : Family::mxfp8_weight_only, n, k);
    if (act)
      require(in.dynamic && in.strategy == "group" && in.group_size == 32, where,
              "input_activations: MXFP8 activations are dynamic, per group of 32");
    CheckpointLayer layer = start_layer(
        src, cat("compressed-tensors float-quantized mxfp8", act ? "" : " weight-only"), c);
    read_microscaled(src, layer, "weight");
    return finish_layer(std::move(layer));
  }
  // e4m3 weights and fp32 scales; without input_activations the checkpoint is W8A16.
  LayerConfig c =
      base_config(src.checkpoint, act ? Family::fp8_scaled_mm : Family::fp8_weight_only, n, k);
  if (!act) {
    require(w.strategy == "tensor" || w.strategy == "channel", where, "weights.strategy is '",
            w.strategy,
            "'; fp8 weight-only (no input_activations) is read per tensor or per channel");
    c.weight_scale = w.strategy == "tensor" ? Granularity::per_tensor : Granularity::per_channel;
  } else if (w.strategy == "block") {
    require(w.block.size() == 2 && w.block[0] > 0 && w.block[1] > 0, where,
            "weights.block_structure should be [block_n, block_k]");
    require(in.dynamic && in.strategy == "group" && in.group_size == w.block[1], where,
            "input_activations: block-scaled fp8 needs dynamic activations per group of block_k (",
            w.block[1], ")");
    c.family = Family::fp8_block;
    c.weight_scale = Granularity::block;
    c.block_n = w.block[0];
    c.group_size = w.block[1];
    c.act_scale = Granularity::per_group;
    c.act_group_size = w.block[1];
  } else {
    require(w.strategy == "tensor" || w.strategy == "channel", where, "weights.strategy is '",
            w.strategy, "'; fp8 weights are read per tensor, per channel or per block");
    c.weight_scale = w.strategy == "tensor" ? Granularity::per_tensor : Granularity::per_channel;
    require(in.strategy == "tensor" || (in.strategy == "token" && in.dynamic), where,
            "input_activations.strategy is '", in.strategy,
            "'; expected tensor, or token with dynamic scales");
    c.act_scale = in.strategy == "token" ? Granularity::per_token : Granularity::per_tensor;
  }
  CheckpointLayer layer = start_layer(
      src, cat("compressed-tensors float-quantized fp8 ", w.strategy, act ? "" : " weight-only"),
      c);
  if (act) read_static_input(src, layer, in);
  layer.weight = read_window(weight, ScalarType::float8_e4m3fn, n, k, src.window(layer.config));
  layer.weight_scale = read_scale(src, "weight_scale", layer.config, ScalarType::fp32);
  return finish_layer(std::move(layer));
}

CheckpointLayer nvfp4_pack_quantized(const LayerSource& src, const Args& w, const json* input,
                                     const std::string& where) {
  require(w.type == "float" && w.bits == 4 && w.group_size == 16, where,
          "weights should be float4 with group_size 16 for nvfp4-pack-quantized");
  const auto [packed, n, k] = src.need_fp4_codes("weight_packed");
  const bool act = input && input->is_object();
  LayerConfig c =
      base_config(src.checkpoint, act ? Family::nvfp4 : Family::nvfp4_weight_only, n, k);
  CheckpointLayer layer = start_layer(
      src, cat("compressed-tensors nvfp4-pack-quantized", act ? "" : " weight-only"), c);
  read_microscaled(src, layer, "weight_packed");
  const double global = src.need_scalar("weight_global_scale", {Dtype::F32}).value(0);
  require(global > 0 && std::isfinite(global), src.where(), "weight_global_scale is ", global,
          "; expected a positive divisor");
  layer.weight_global_scale = fp32_scalar(1.0 / global);
  if (act) {
    const double input_global = src.need_scalar("input_global_scale", {Dtype::F32}).value(0);
    require(input_global > 0 && std::isfinite(input_global), src.where(), "input_global_scale is ",
            input_global, "; expected a positive divisor");
    layer.input_scale = fp32_scalar(1.0 / input_global);
  }
  return finish_layer(std::move(layer));
}

CheckpointLayer mxfp4_pack_quantized(const LayerSource& src, const Args& w, const json* input,
                                     const std::string& where) {
  require(w.type == "float" && w.bits == 4 && w.group_size == 32, where, "weights are ", w.type,
          w.bits, " with group_size ", w.group_size,
          "; mxfp4-pack-quantized holds float4 (e2m1) with group_size 32");
  // With input_activations the layer is W4A4 (mxfp4): e2m1 activations with an e8m0 scale per 32,
  // computed per call, so the checkpoint holds no activation tensors.
  const bool act = input && input->is_object();
  if (act) {
    const Args in(*input, where + "input_activations.");
    require(in.type == "float" && in.bits == 4 && in.dynamic && in.strategy == "group" &&
                in.group_size == 32,
            where, "input_activations are ", in.type, in.bits, " ", in.strategy, " group_size ",
            in.group_size, in.dynamic ? " dynamic" : " static",
            "; MXFP4 activations are float4 (e2m1), dynamic, per group of 32");
  }
  const auto [packed, n, k] = src.need_fp4_codes("weight_packed");
  require(k % 32 == 0, src.where(), packed.describe(), " holds K = ", k,
          " codes a row; MXFP4 scales cover 32 along K, so K must be a multiple of 32");
  CheckpointLayer layer = start_layer(
      src, cat("compressed-tensors mxfp4-pack-quantized", act ? "" : " weight-only"),
      base_config(src.checkpoint, act ? Family::mxfp4 : Family::mxfp4_weight_only, n, k));
  read_microscaled(src, layer, "weight_packed");
  return finish_layer(std::move(layer));
}

}  // namespace

bool compressed_tensors_ignores(const json& quant, std::string_view layer) {
  const std::string where = "compressed-tensors quantization_config: ";
  return any_matches(quant.value("ignore", json::array()), layer, where) ||
         !scheme_of(quant, layer, where);
}

CheckpointLayer load_compressed_tensors(const LayerSource& src) {
  const std::string where = cat(src.where(), "quantization_config.");
  require(!any_matches(src.quant.value("ignore", json::array()), src.prefix, where), src.where(),
          "the layer is in quantization_config.ignore, yet its weight is quantized");
  const json* scheme = scheme_of(src.quant, src.prefix, where);
  require(scheme != nullptr, where, "config_groups: no group's targets match this layer");
  const std::string format =
      json_string(*scheme, "format", json_string(src.quant, "format", "", where), where);
  require(scheme->contains("weights") && (*scheme)["weights"].is_object(), where,
          "the layer's config group has no weights args");
  const Args w((*scheme)["weights"], where + "weights.");
  const json* input =
      scheme->contains("input_activations") ? &(*scheme)["input_activations"] : nullptr;
  if (format == "pack-quantized") return pack_quantized(src, w, input, where);
  if (format == "int-quantized") return int_quantized(src, w, input, where);
  if (format == "float-quantized" || format == "mxfp8-quantized")
    return float_quantized(src, w, input, format == "mxfp8-quantized", where);
  if (format == "nvfp4-pack-quantized") return nvfp4_pack_quantized(src, w, input, where);
  if (format == "mxfp4-pack-quantized") return mxfp4_pack_quantized(src, w, input, where);
  throw Error(cat(where, "format is '", format,
                  "'; qlinear reads pack-quantized, int-quantized, float-quantized, "
                  "mxfp8-quantized, nvfp4-pack-quantized and mxfp4-pack-quantized"));
}

}  // namespace qlinear::checkpoint
