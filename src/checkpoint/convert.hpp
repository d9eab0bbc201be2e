// Shared by the converters: the checkpoint's insides, tensor look-ups that check dtype and shape
// with messages naming the file, and the few re-layouts every format needs.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>

#include "checkpoint/module_patterns.hpp"
#include "checkpoint/shard.hpp"
#include "cpu/transpose_elements.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"

namespace qlinear::checkpoint {

using json = nlohmann::json;

struct Checkpoint::Impl {
  std::string directory;
  std::vector<std::shared_ptr<const SafetensorsFile>> files;
  std::vector<std::string> paths;  // every file read: configs, index, shards
  std::map<std::string, const TensorEntry*, std::less<>> tensors;
  json quant;          // quantization_config (config.json) or "quantization" (hf_quant_config.json)
  std::string method;  // "gptq", "awq", "compressed-tensors", "modelopt", "fp8", "mxfp4", "none"
  ScalarType act_type = ScalarType::bf16;
  // gpt-oss's quantization_config.modules_to_not_convert, each pattern with its compiled form
  // (read_modules_to_not_convert, when the folder is opened).
  std::vector<std::pair<std::string, ModuleRegex>> not_converted;
};

// What a converter sees of one layer, and the part of it to convert: all of it, or one
// tensor-parallel rank's rows (columns), read from the mapped files without touching the rest.
struct LayerSource {
  const Checkpoint& checkpoint;
  std::string prefix;
  const json& quant;
  TensorParallel tp;
  Codes codes = Codes::canonical;

  // The rows and columns of the canonical weight to convert, for the part whose config (from
  // start_layer) is `part`.
  Window window(const LayerConfig& part) const { return weight_window(part, tp.rank); }

  std::string tensor_name(std::string_view suffix) const { return cat(prefix, ".", suffix); }
  const TensorEntry* find(std::string_view suffix) const;
  // The tensor `prefix.suffix`, which must have one of `dtypes` and, where `shape` is given, that
  // shape; `why` says where the expectation comes from (e.g. "qweight packs 8 codes per int32").
  const TensorEntry& need(std::string_view suffix, std::initializer_list<Dtype> dtypes,
                          std::optional<std::vector<int64_t>> shape = std::nullopt,
                          std::string_view why = {}) const;
  // The e2m1 codes `prefix.suffix` of an [N, K] weight, as a checkpoint may store them: U8
  // [N, K/2] (two codes a byte along K, the even one in the low nibble) or F4 [N, K] (the same
  // bytes, its shape counting codes).
  struct Fp4Codes {
    const TensorEntry& entry;
    int64_t n, k;
  };
  Fp4Codes need_fp4_codes(std::string_view suffix) const;
  // A per-tensor scalar: shape [], [1] or [1, 1].
  const TensorEntry& need_scalar(std::string_view suffix,
                                 std::initializer_list<Dtype> dtypes) const;
  // The error prefix "checkpoint DIR, layer P: ".
  std::string where() const;
};

// The family's default config (core's default_config) with the checkpoint's activation/output
// type and the full shape; converters override what their format says.
LayerConfig base_config(const Checkpoint& checkpoint, Family family, int64_t n, int64_t k);
// Starts the converted layer of the whole layer's `config`: its part's config and format
// (shard_config, shard_format: a split that cannot be made is refused here, before any weight is
// read) and that part of the optional bias: `bias` ([N]), or by default the tensor prefix.bias.
CheckpointLayer start_layer(const LayerSource& source, std::string format,
                            const LayerConfig& config);
CheckpointLayer start_layer(const LayerSource& source, std::string format,
                            const LayerConfig& config, const TensorEntry* bias);
// NVFP4 / MXFP8 / MXFP4 (families of config.family): the part's codes `weight_suffix` (e2m1 as
// need_fp4_codes reads them, or e4m3 [N, K]) and weight_scale (e4m3 [N, K/16], or e8m0 as U8 /
// F8_E8M0 [N, K/32]).
void read_microscaled(const LayerSource& source, CheckpointLayer& layer,
                      std::string_view weight_suffix);
// Final check: the result must be a valid canonical layer.
CheckpointLayer finish_layer(CheckpointLayer layer);

constexpr std::initializer_list<Dtype> kFloatScales = {Dtype::F16, Dtype::BF16, Dtype::F32};
ScalarType scale_type_of(const TensorEntry& entry);  // F16/BF16/F32 -> fp16/bf16/fp32

// Window `w` of the entry's bytes read as a [rows, cols] matrix of `type` (which must be their
// byte size), as a tensor [w.rows(), w.cols()]; only the window's bytes are read.
Tensor read_window(const TensorEntry& entry, ScalarType type, int64_t rows, int64_t cols,
                   const Window& w);
// Window `w` of the 2-D entry's transpose ([rows, cols] read as [cols, rows]), same dtype (8, 16 or
// 32-bit elements); only the window's elements are read.
Tensor transposed(const TensorEntry& entry, ScalarType type, const Window& w);
using cpu::transpose_elements;
// The scale tensor `suffix` (any float dtype) as the canonical weight-scale tensor of the part
// whose config is `part` (its cells over the part's weight, scale_window), in `type`; the
// conversion is exact (fp16 / bf16 into fp32, or the same type). A per-tensor scale may be [], [1]
// or [1, 1]; a per-channel one [N] or [N, 1].
Tensor read_scale(const LayerSource& source, std::string_view suffix, const LayerConfig& part,
                  ScalarType type);
// A one-element fp32 tensor [1].
Tensor fp32_scalar(double value);
// The bits-wide field `index` of 32-bit word w (low bits first).
inline uint32_t field(uint32_t w, int bits, int index) {
  return (w >> (bits * index)) & ((1u << bits) - 1u);
}
inline uint32_t word(const TensorEntry& e, int64_t index) {
  uint32_t w;
  std::memcpy(&w, e.data + 4 * index, 4);
  return w;
}

// JSON fields with a default and a type check naming the field. An integer outside [min, max] is
// refused with the value, never truncated or wrapped into range.
int64_t json_int(const json& object, const std::string& key, int64_t fallback,
                 const std::string& where, int64_t min, int64_t max);
// A JSON value that must be an integer in [min, max]; `what` names it.
int64_t json_int_value(const json& value, const std::string& what, int64_t min, int64_t max);
// The range of sizes a config may give (group and block sizes): positive and within int32.
constexpr int64_t kMaxConfigSize = 0x7fffffff;
bool json_bool(const json& object, const std::string& key, bool fallback, const std::string& where);
std::string json_string(const json& object, const std::string& key, const std::string& fallback,
                        const std::string& where);

// The converters, one per format (each in its own file).
CheckpointLayer load_gptq(const LayerSource& source);
CheckpointLayer load_awq(const LayerSource& source);
CheckpointLayer load_compressed_tensors(const LayerSource& source);
bool compressed_tensors_ignores(const json& quant, std::string_view layer);
CheckpointLayer load_modelopt(const LayerSource& source);
bool modelopt_excludes(const json& quant, std::string_view layer);
CheckpointLayer load_fp8(const LayerSource& source);
CheckpointLayer load_gpt_oss(const LayerSource& source);
// A gpt-oss layer's bias, its expert's row of P_bias [E, N] (or P_bias [N]), as an entry of shape
// [N]; nullopt when it has none. `stack_shape` is the shape P_bias must have, where known.
std::optional<TensorEntry> gpt_oss_bias(const LayerSource& source,
                                        std::optional<std::vector<int64_t>> stack_shape);
// The layers a gpt-oss `*_blocks` tensor holds (one, or one per expert); none for other tensors.
std::vector<std::string> gpt_oss_layers(const TensorEntry& blocks);
bool is_gpt_oss_layer(const Checkpoint& checkpoint, std::string_view layer);
// Reads and checks gpt-oss's quantization_config.modules_to_not_convert into impl.not_converted;
// `where` names the config.
void read_modules_to_not_convert(Checkpoint::Impl& impl, const std::string& where);
// The modules_to_not_convert pattern that leaves `layer` unquantized, or nullptr.
const std::string* gpt_oss_not_converted(const Checkpoint::Impl& impl, std::string_view layer);

}  // namespace qlinear::checkpoint
