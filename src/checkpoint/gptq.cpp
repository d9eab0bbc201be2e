// GPTQ (AutoGPTQ / GPTQModel), 4 and 8 bits:
//   qweight int32 [K·bits/32, N]   codes packed along K, low bits first: code(k, n) is field k %
//   (32/bits)
//                                  of qweight[k / (32/bits), n]
//   qzeros  int32 [G, N·bits/32]   zero points packed along N the same way; the v1 format
//                                  ("checkpoint_format": "gptq", the default) stores zero - 1
//                                  (wrapping modulo 2^bits), gptq_v2 stores the zero itself
//   scales  fp16  [G, N]           G = K / group_size (1 when group_size is -1: per channel)
//   g_idx   int32 [K]              group of each k; meaningful with desc_act (act order)
// sym = true means the zero is 2^(bits-1) everywhere: codes are uint4b8 / uint8b128 and qzeros is
// not read (as vLLM does). Dequantized: w[n, k] = (code - zero) · scale[g(k), n].
#include "checkpoint/convert.hpp"
#include "core/code_words.hpp"

namespace qlinear::checkpoint {

CheckpointLayer load_gptq(const LayerSource& src) {
  const std::string where = cat(src.where(), "quantization_config.");
  const int bits = static_cast<int>(json_int(src.quant, "bits", 4, where, 1, 32));
  require(bits == 4 || bits == 8, where, "bits is ", bits, "; qlinear reads 4- and 8-bit GPTQ");
  const int per_word = 32 / bits;
  const std::string format = json_string(src.quant, "checkpoint_format", "gptq", where);
  require(format == "gptq" || format == "gptq_v2", where, "checkpoint_format is '", format,
          "'; expected gptq or gptq_v2");
  const bool sym = json_bool(src.quant, "sym", true, where);
  const int64_t group_size = json_int(src.quant, "group_size", 128, where, -1, kMaxConfigSize);

  const TensorEntry& qweight = src.need("qweight", {Dtype::I32});
  require(qweight.shape.size() == 2, src.where(), qweight.describe(), " should be [K / ", per_word,
          ", N]");
  const int64_t k = qweight.shape[0] * per_word, n = qweight.shape[1];
  const int64_t group = group_size == -1 ? k : group_size;
  require(group > 0 && k % group == 0, where, "group_size is ", group_size,
          "; it must be -1 or divide K = ", k);
  const int64_t groups = k / group;
  // GPTQ has no act order without groups (vLLM drops desc_act then too).
  const bool act_order = json_bool(src.quant, "desc_act", false, where) && group_size != -1;

  const TensorEntry& scales = src.need("scales", kFloatScales, std::vector<int64_t>{groups, n},
                                       cat("[K / group_size, N] with K = ", k));
  LayerConfig c = base_config(src.checkpoint, Family::mixed_precision, n, k);
  c.weight_type = bits == 4 ? (sym ? ScalarType::uint4b8 : ScalarType::uint4)
                            : (sym ? ScalarType::uint8b128 : ScalarType::uint8);
  c.zero_points = !sym;
  c.act_order = act_order;
  c.weight_scale = group_size == -1 ? Granularity::per_channel : Granularity::per_group;
  c.group_size = group_size == -1 ? 0 : group;
  c.weight_scale_type = scale_type_of(scales);
  CheckpointLayer layer =
      start_layer(src,
                  cat("gptq", format == "gptq_v2" ? " v2 " : " v1 ", bits, "-bit",
                      sym ? " sym" : " asym", act_order ? " act-order" : ""),
                  c);

  // Word (k / per_word, n) holds codes k .. k + per_word - 1 of row n, low bits first: the
  // canonical [N, K] codes (two a byte, low nibble first, or one a byte) are exactly those words,
  // transposed (core/code_words.hpp).
  const Window w = src.window(layer.config), cells = scale_window(c, w);
  const std::byte* first_word = qweight.data + (w.col0 / per_word * n + w.row0) * 4;
  const bool whole_words = w.col0 % per_word == 0 && w.col1 % per_word == 0;
  if (whole_words && src.codes == Codes::as_stored &&
      reinterpret_cast<uintptr_t>(first_word) % 4 == 0) {
    const detail::CodeWords words{first_word, w.rows(), w.cols(), n, bits};
    layer.weight = Tensor::over(std::make_shared<const Checkpoint>(src.checkpoint),
                                detail::code_words_view(words, c.weight_type));
  } else {
    layer.weight =
        Tensor::empty(c.weight_type, {w.rows(), w.cols()}, Device::cpu(), Lifetime::layer);
    if (whole_words) {
      transpose_elements(first_word, w.cols() / per_word, w.rows(), n, 4,
                         static_cast<std::byte*>(layer.weight.data()));
    } else {  // a row split of a per-channel layer may cut a word: code by code
      for (int64_t nn = w.row0; nn < w.row1; ++nn)
        for (int64_t kk = w.col0; kk < w.col1; ++kk)
          store_code(layer.weight, (nn - w.row0) * w.cols() + kk - w.col0,
                     field(word(qweight, kk / per_word * n + nn), bits, kk % per_word));
    }
  }
  layer.weight_scale = transposed(scales, c.weight_scale_type, cells);

  if (!sym) {
    require(n % per_word == 0, src.where(), "N = ", n, " must be a multiple of ", per_word,
            " to pack qzeros");
    const TensorEntry& qzeros =
        src.need("qzeros", {Dtype::I32}, std::vector<int64_t>{groups, n / per_word},
                 cat("[K / group_size, N / ", per_word, "] zero points packed along N"));
    const uint32_t offset = format == "gptq" ? 1 : 0;
    const uint32_t mask = (1u << bits) - 1u;
    layer.weight_zero_point = Tensor::empty(ScalarType::uint8, {cells.rows(), cells.cols()},
                                            Device::cpu(), Lifetime::layer);
    for (int64_t g = cells.col0; g < cells.col1; ++g)
      for (int64_t nn = cells.row0; nn < cells.row1; ++nn) {
        const uint32_t stored =
            field(word(qzeros, g * (n / per_word) + nn / per_word), bits, nn % per_word);
        store_code(layer.weight_zero_point, (nn - cells.row0) * cells.cols() + g - cells.col0,
                   (stored + offset) & mask);
      }
  }
  if (act_order) {
    const TensorEntry& g_idx = src.need("g_idx", {Dtype::I32}, std::vector<int64_t>{k},
                                        "desc_act needs the group of each K position");
    layer.g_idx = copy_range(g_idx.data, ScalarType::int32, w.col0, w.col1);
  }
  return finish_layer(std::move(layer));
}

}  // namespace qlinear::checkpoint
