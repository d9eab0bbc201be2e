// Helpers every converter uses: checked tensor look-ups and small re-layouts.
#include "checkpoint/convert.hpp"

#include <algorithm>
#include <cstring>

#include "qlinear/linear.hpp"

namespace qlinear::checkpoint {
namespace {

std::string shape_text(std::span<const int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += cat(i ? ", " : "", shape[i]);
  return text + "]";
}

std::string dtype_list(std::initializer_list<Dtype> dtypes) {
  std::string text;
  for (Dtype d : dtypes) text += cat(text.empty() ? "" : " or ", name(d));
  return text;
}

}  // namespace

std::string LayerSource::where() const {
  return cat("checkpoint ", checkpoint.directory(), ", layer ", prefix, ": ");
}

const TensorEntry* LayerSource::find(std::string_view suffix) const {
  return checkpoint.find(tensor_name(suffix));
}

const TensorEntry& LayerSource::need(std::string_view suffix, std::initializer_list<Dtype> dtypes,
                                     std::optional<std::vector<int64_t>> shape,
                                     std::string_view why) const {
  const TensorEntry* e = find(suffix);
  const std::string because = why.empty() ? "" : cat(" (", why, ")");
  require(e != nullptr, where(), "tensor ", tensor_name(suffix), " is missing; expected ",
          dtype_list(dtypes), shape ? shape_text(*shape) : "", because);
  require(std::find(dtypes.begin(), dtypes.end(), e->dtype) != dtypes.end(), where(), "tensor ",
          e->describe(), " has dtype ", name(e->dtype), "; expected ", dtype_list(dtypes), because);
  if (shape)
    require(e->shape == *shape, where(), "tensor ", e->describe(), " has shape ",
            shape_text(e->shape), "; expected ", shape_text(*shape), because);
  return *e;
}

LayerSource::Fp4Codes LayerSource::need_fp4_codes(std::string_view suffix) const {
  const TensorEntry& e = need(suffix, {Dtype::U8, Dtype::F4}, std::nullopt,
                              "e2m1 codes: U8 [N, K/2] two a byte along K, or F4 [N, K]");
  const bool f4 = e.dtype == Dtype::F4;
  require(e.shape.size() == 2, where(), "tensor ", e.describe(), " should be ",
          f4 ? "[N, K]" : "[N, K/2]", " (e2m1 codes)");
  const int64_t k = f4 ? e.shape[1] : e.shape[1] * 2;
  require(k % 2 == 0, where(), "tensor ", e.describe(),
          " has an odd row of e2m1 codes; two codes a byte need an even K");
  return {e, e.shape[0], k};
}

const TensorEntry& LayerSource::need_scalar(std::string_view suffix,
                                            std::initializer_list<Dtype> dtypes) const {
  const TensorEntry& e = need(suffix, dtypes);
  require(e.numel() == 1 && e.shape.size() <= 2, where(), "tensor ", e.describe(),
          " should be one per-tensor value (shape [], [1] or [1, 1])");
  return e;
}

LayerConfig base_config(const Checkpoint& checkpoint, Family family, int64_t n, int64_t k) {
  LayerConfig c = default_config(family, n, k);
  c.act_type = checkpoint.activation_type();
  c.out_type = c.act_type;
  return c;
}

CheckpointLayer start_layer(const LayerSource& source, std::string format,
                            const LayerConfig& config) {
  const TensorEntry* bias = source.find("bias");
  if (bias)
    bias = &source.need("bias", kFloatScales, std::vector<int64_t>{config.n},
                        "one bias per output row");
  return start_layer(source, std::move(format), config, bias);
}

CheckpointLayer start_layer(const LayerSource& source, std::string format,
                            const LayerConfig& config, const TensorEntry* bias) {
  LayerConfig whole = config;
  whole.bias = bias != nullptr;
  CheckpointLayer layer;
  layer.name = source.prefix;
  layer.format = shard_format(format, source.tp);
  layer.config = shard_config(whole, source.tp, source.prefix);
  if (layer.config.bias) {
    const Window w = source.window(layer.config);
    layer.bias = copy_range(bias->data, scale_type_of(*bias), w.row0, w.row1);
  }
  return layer;
}

void read_microscaled(const LayerSource& src, CheckpointLayer& layer,
                      std::string_view weight_suffix) {
  const LayerConfig& c = layer.config;
  const int64_t n = c.n, k = c.k, groups = k / c.group_size;
  const bool fp4 = c.weight_type == ScalarType::float4_e2m1f;
  const Window w = src.window(c);
  const TensorEntry* codes = nullptr;
  if (fp4) {
    const LayerSource::Fp4Codes e2m1 = src.need_fp4_codes(weight_suffix);
    require(e2m1.n == n && e2m1.k == k, src.where(), "tensor ", e2m1.entry.describe(), " holds ",
            e2m1.n, " x ", e2m1.k, " e2m1 codes; expected ", n, " x ", k);
    codes = &e2m1.entry;
  } else {
    codes = &src.need(weight_suffix, {Dtype::F8_E4M3}, std::vector<int64_t>{n, k}, "e4m3 codes");
  }
  layer.weight = read_window(*codes, c.weight_type, n, k, w);
  const std::vector<int64_t> scale_shape{n, groups};
  const std::string why = cat(name(c.weight_scale_type), " scales per ", c.group_size, " along K");
  const TensorEntry& scale =
      c.weight_scale_type == ScalarType::float8_e4m3fn
          ? src.need("weight_scale", {Dtype::F8_E4M3}, scale_shape, why)
          : src.need("weight_scale", {Dtype::U8, Dtype::F8_E8M0}, scale_shape, why);
  layer.weight_scale = read_window(scale, c.weight_scale_type, n, groups, scale_window(c, w));
}

CheckpointLayer finish_layer(CheckpointLayer layer) {
  try {
    validate(layer.config);
    validate_weights(layer.config, layer.weights(), Device::cpu());
  } catch (const Error& e) {
    throw Error(cat("layer ", layer.name, " (", layer.format, "): ", e.what()));
  }
  return layer;
}

ScalarType scale_type_of(const TensorEntry& e) {
  const auto t = scalar_type(e.dtype);
  require(t && (*t == ScalarType::fp16 || *t == ScalarType::bf16 || *t == ScalarType::fp32),
          e.describe(), ": expected a F16, BF16 or F32 scale");
  return *t;
}

Tensor read_window(const TensorEntry& e, ScalarType type, int64_t rows, int64_t cols,
                   const Window& w) {
  require(storage_bytes(type, rows * cols) == e.nbytes, e.describe(), ": ", e.nbytes,
          " bytes cannot hold ", name(type), "[", rows, ", ", cols, "]");
  return copy_window(e.data, type, cols, w);
}

Tensor transposed(const TensorEntry& e, ScalarType type, const Window& w) {
  require(e.shape.size() == 2, e.describe(), ": expected a 2-D tensor");
  require(element_bits(e.dtype) == info(type).bits && info(type).bits % 8 == 0, e.describe(),
          ": element size differs from ", name(type));
  const int64_t size = element_bits(e.dtype) / 8;
  // Output row r is input column w.row0 + r, over input rows [w.col0, w.col1).
  Tensor t = Tensor::empty(type, {w.rows(), w.cols()}, Device::cpu(), Lifetime::layer);
  const int64_t stride = e.shape[1];
  transpose_elements(e.data + (w.col0 * stride + w.row0) * size, w.cols(), w.rows(), stride,
                     static_cast<int>(size), static_cast<std::byte*>(t.data()));
  return t;
}

Tensor read_scale(const LayerSource& src, std::string_view suffix, const LayerConfig& part,
                  ScalarType type) {
  LayerConfig whole = part;
  whole.partition_n = whole.partition_k = 0;
  const auto shape = whole.weight_scale_shape();
  const TensorEntry& e = part.weight_scale == Granularity::per_tensor
                             ? src.need_scalar(suffix, kFloatScales)
                             : src.need(suffix, kFloatScales);
  require(e.numel() == shape[0] * shape[1] && (e.shape.empty() || e.shape[0] == shape[0]),
          src.where(), "tensor ", e.describe(), " should be [", shape[0], ", ", shape[1], "] for ",
          name(part.weight_scale), " weight scales");
  const Window w = scale_window(part, src.window(part));
  Tensor t = Tensor::empty(type, {w.rows(), w.cols()}, Device::cpu(), Lifetime::layer);
  for (int64_t r = 0; r < w.rows(); ++r)
    for (int64_t c = 0; c < w.cols(); ++c)
      store_value(t, r * w.cols() + c, e.value((w.row0 + r) * shape[1] + w.col0 + c));
  return t;
}

Tensor fp32_scalar(double value) {
  Tensor t = Tensor::empty(ScalarType::fp32, {1}, Device::cpu(), Lifetime::layer);
  *t.data_as<float>() = static_cast<float>(value);
  return t;
}

int64_t json_int_value(const json& value, const std::string& what, int64_t min, int64_t max) {
  // An unsigned JSON integer above INT64_MAX would wrap to a negative int64: compare it unsigned.
  bool in_range = false;
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    in_range = max >= 0 && v <= static_cast<uint64_t>(max) && static_cast<int64_t>(v) >= min;
  } else if (value.is_number_integer()) {
    const auto v = value.get<int64_t>();
    in_range = v >= min && v <= max;
  }
  require(in_range, what, " is ", value.dump(), "; expected an integer from ", min, " to ", max);
  return value.get<int64_t>();
}

int64_t json_int(const json& o, const std::string& key, int64_t fallback, const std::string& where,
                 int64_t min, int64_t max) {
  if (!o.is_object() || !o.contains(key) || o[key].is_null()) return fallback;
  return json_int_value(o[key], where + key, min, max);
}

bool json_bool(const json& o, const std::string& key, bool fallback, const std::string& where) {
  if (!o.is_object() || !o.contains(key) || o[key].is_null()) return fallback;
  require(o[key].is_boolean(), where, key, " is ", o[key].dump(), "; expected true or false");
  return o[key].get<bool>();
}

std::string json_string(const json& o, const std::string& key, const std::string& fallback,
                        const std::string& where) {
  if (!o.is_object() || !o.contains(key) || o[key].is_null()) return fallback;
  require(o[key].is_string(), where, key, " is ", o[key].dump(), "; expected a string");
  return o[key].get<std::string>();
}

}  // namespace qlinear::checkpoint
