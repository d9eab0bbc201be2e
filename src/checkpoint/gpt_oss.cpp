// quant_method "mxfp4", as OpenAI's gpt-oss checkpoints (and transformers' Mxfp4Config) write
// them. A linear weight P is stored as
//   P_blocks  U8 [N, K/32, 16]   e2m1 codes: a block of 32 along K in 16 bytes, low nibble first
//   P_scales  U8 [N, K/32]       e8m0 exponents, w = code · 2^(s - 127), one per block
//   P_bias    F32/BF16/F16 [N]   optional
// and a mixture of experts stacks E such weights: P_blocks [E, N, K/32, 16], P_scales [E, N, K/32],
// P_bias [E, N]. A row of P_blocks is the canonical row of e2m1 pairs [K/2] as it is.
//
// Expert e of the stack M.P is the layer M.e.P (model.layers.0.mlp.experts.3.down_proj is expert
// 3 of model.layers.0.mlp.experts.down_proj_blocks): the name a module of its own would have, so
// that the tensor-parallel split read off the projection's name (default_split) holds.
//
// quantization_config.modules_to_not_convert lists the modules left in 16 bits (gpt-oss names
// "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head").
// transformers reads each entry as a Python regular expression matched at the start of the
// module's name (re.match), or as a suffix of it, and so does qlinear (ModuleRegex: linear time).
#include <charconv>

#include "checkpoint/convert.hpp"

namespace qlinear::checkpoint {
namespace {

constexpr int64_t kBlock = 32;  // e2m1 codes per e8m0 scale
constexpr int64_t kBlockBytes = kBlock / 2;

// The stacked tensors' prefix and the expert of `layer`, or the layer itself (expert -1).
struct Stack {
  std::string prefix;
  int64_t expert = -1;
};

Stack stack_of(const Checkpoint& checkpoint, std::string_view layer) {
  const size_t last = layer.rfind('.');
  const size_t before = last == std::string_view::npos ? last : layer.rfind('.', last - 1);
  if (before != std::string_view::npos) {
    const std::string_view digits = layer.substr(before + 1, last - before - 1);
    int64_t expert = -1;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), expert);
    const std::string prefix = cat(layer.substr(0, before), layer.substr(last));
    if (error == std::errc() && end == digits.data() + digits.size() &&
        checkpoint.find(prefix + "_blocks") && !checkpoint.find(std::string(layer) + "_blocks"))
      return {prefix, expert};
  }
  return {std::string(layer), -1};
}

// Expert `expert`'s slice of a tensor whose leading axis is the expert (or the whole tensor when
// expert is -1), as an entry of `shape`.
TensorEntry slice(const TensorEntry& e, int64_t expert, std::vector<int64_t> shape) {
  TensorEntry part = e;
  part.shape = std::move(shape);
  part.nbytes = storage_bytes(e.dtype, part.numel());
  if (expert >= 0) part.data = e.data + expert * part.nbytes;
  return part;
}

// The most patterns modules_to_not_convert may list: real configs list a handful; each one is
// tried against every layer name, so the bound keeps a hostile config from costing hours.
constexpr size_t kMaxNotConverted = 4096;

}  // namespace

void read_modules_to_not_convert(Checkpoint::Impl& impl, const std::string& where) {
  const std::string field = cat(where, "modules_to_not_convert");
  if (!impl.quant.contains("modules_to_not_convert")) return;
  const json& list = impl.quant["modules_to_not_convert"];
  if (list.is_null()) return;  // transformers' default: every module is converted
  require(list.is_array(), field, " is a JSON ", list.type_name(),
          "; expected a list of module-name patterns (strings)");
  require(list.size() <= kMaxNotConverted, field, " lists ", list.size(), " patterns; at most ",
          kMaxNotConverted, " are read");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item = cat(field, "[", i, "]");
    require(list[i].is_string(), item, " is a JSON ", list[i].type_name(),
            "; expected a module-name pattern (a string)");
    const auto& text = list[i].get_ref<const std::string&>();
    // An empty pattern matches every name at its start: it would leave the whole model
    // unquantized, which no checkpoint of quantized blocks means.
    require(!text.empty(), item, " is empty; it would match every module");
    require(text.size() <= kMaxPatternLength, item, ": a pattern of ", text.size(),
            " characters; at most ", kMaxPatternLength, " are read");
    impl.not_converted.emplace_back(text, ModuleRegex(text, item + ": "));
  }
}

const std::string* gpt_oss_not_converted(const Checkpoint::Impl& impl, std::string_view layer) {
  for (const auto& [text, regex] : impl.not_converted)
    if (regex.matches_start(layer) || layer.ends_with(text)) return &text;
  return nullptr;
}

std::vector<std::string> gpt_oss_layers(const TensorEntry& blocks) {
  constexpr std::string_view kSuffix = "_blocks";
  if ((blocks.dtype != Dtype::U8 && blocks.dtype != Dtype::F4) || !blocks.name.ends_with(kSuffix))
    return {};
  const std::string prefix = blocks.name.substr(0, blocks.name.size() - kSuffix.size());
  if (blocks.shape.size() != 4) return {prefix};  // a linear layer, or refused when loaded
  const size_t dot = prefix.rfind('.');
  const std::string module = dot == std::string::npos ? "" : prefix.substr(0, dot + 1);
  const std::string projection = prefix.substr(dot == std::string::npos ? 0 : dot + 1);
  std::vector<std::string> layers;
  for (int64_t e = 0; e < blocks.shape[0]; ++e) layers.push_back(cat(module, e, ".", projection));
  return layers;
}

bool is_gpt_oss_layer(const Checkpoint& checkpoint, std::string_view layer) {
  return checkpoint.find(stack_of(checkpoint, layer).prefix + "_blocks") != nullptr;
}

std::optional<TensorEntry> gpt_oss_bias(const LayerSource& src,
                                        std::optional<std::vector<int64_t>> stack_shape) {
  const Stack stack = stack_of(src.checkpoint, src.prefix);
  const TensorEntry* bias = src.checkpoint.find(cat(stack.prefix, "_bias"));
  if (bias == nullptr) return std::nullopt;
  const bool experts = stack.expert >= 0;
  require(stack_shape ? bias->shape == *stack_shape
                      : bias->shape.size() == (experts ? 2u : 1u) &&
                            (!experts || stack.expert < bias->shape[0]),
          src.where(), "tensor ", bias->describe(),
          " should be one bias per output row of each weight (", experts ? "[E, N]" : "[N]", ")");
  scale_type_of(*bias);  // a float dtype, or an error naming the tensor
  return slice(*bias, stack.expert, {bias->shape.back()});
}

CheckpointLayer load_gpt_oss(const LayerSource& src) {
  const Stack stack = stack_of(src.checkpoint, src.prefix);
  const bool experts = stack.expert >= 0;
  if (const std::string* pattern = gpt_oss_not_converted(src.checkpoint.impl(), src.prefix))
    throw Error(cat(src.where(),
                    "quantization_config.modules_to_not_convert leaves the layer "
                    "unquantized (pattern '",
                    *pattern, "'), yet its weight is stored as MXFP4 blocks"));
  const auto tensor = [&](std::string_view suffix) { return cat(stack.prefix, "_", suffix); };
  const TensorEntry* blocks = src.checkpoint.find(tensor("blocks"));
  require(blocks != nullptr, src.where(), "tensor ", tensor("blocks"),
          " is missing; quant_method mxfp4 stores a weight as U8 _blocks [N, K/32, 16] and "
          "_scales [N, K/32] (or [E, ...] for E experts)");
  const size_t rank = experts ? 4 : 3;
  // U8 counts a block's 16 bytes, F4 its 32 codes: the same bytes.
  require(blocks->dtype == Dtype::U8 || blocks->dtype == Dtype::F4, src.where(), "tensor ",
          blocks->describe(), " has dtype ", name(blocks->dtype),
          "; expected U8 (two e2m1 codes a byte) or F4");
  const bool f4 = blocks->dtype == Dtype::F4;
  require(blocks->shape.size() == rank && blocks->shape.back() == (f4 ? kBlock : kBlockBytes),
          src.where(), "tensor ", blocks->describe(), " should be ",
          experts ? "[E, N, K/32, " : "[N, K/32, ", f4 ? "32]" : "16]",
          " (blocks of 32 e2m1 codes in 16 bytes)");
  const int64_t lead = experts ? 1 : 0;
  if (experts)
    require(stack.expert < blocks->shape[0], src.where(), "expert ", stack.expert, " is not in ",
            blocks->describe(), ", which stacks ", blocks->shape[0], " experts");
  const int64_t n = blocks->shape[lead], groups = blocks->shape[lead + 1], k = groups * kBlock;

  const std::vector<int64_t> scale_shape =
      experts ? std::vector<int64_t>{blocks->shape[0], n, groups} : std::vector<int64_t>{n, groups};
  const TensorEntry* scales_entry = src.checkpoint.find(tensor("scales"));
  require(scales_entry != nullptr, src.where(), "tensor ", tensor("scales"),
          " is missing; expected the e8m0 scales of ", blocks->describe());
  const TensorEntry& scales = *scales_entry;
  require(scales.dtype == Dtype::U8 || scales.dtype == Dtype::F8_E8M0, src.where(), "tensor ",
          scales.describe(), " has dtype ", name(scales.dtype),
          "; expected U8 or F8_E8M0 (e8m0 exponents)");
  require(scales.shape == scale_shape, src.where(), "tensor ", scales.describe(),
          " should have the shape of ", blocks->describe(),
          " less its last axis: one e8m0 scale "
          "per block of 32");
  const std::optional<TensorEntry> bias = gpt_oss_bias(
      src, experts ? std::vector<int64_t>{blocks->shape[0], n} : std::vector<int64_t>{n});

  const LayerConfig c = base_config(src.checkpoint, Family::mxfp4_weight_only, n, k);
  CheckpointLayer layer =
      start_layer(src,
                  experts ? cat("gpt-oss mxfp4 expert ", stack.expert, " of ", blocks->shape[0])
                          : "gpt-oss mxfp4",
                  c, bias ? &*bias : nullptr);
  const Window part = src.window(layer.config);
  layer.weight = read_window(slice(*blocks, stack.expert, {n, f4 ? k : k / 2}),
                             ScalarType::float4_e2m1f, n, k, part);
  layer.weight_scale = read_window(slice(scales, stack.expert, {n, groups}),
                                   ScalarType::float8_e8m0fnu, n, groups, scale_window(c, part));
  return finish_layer(std::move(layer));
}

}  // namespace qlinear::checkpoint
