// Checkpoints as quantization tools write them: safetensors files (one, or shards listed in
// model.safetensors.index.json), config.json and hf_quant_config.json; and the converters that
// turn one linear layer of GPTQ, AWQ, compressed-tensors, ModelOpt, FP8, MXFP8 or gpt-oss MXFP4
// into a LayerConfig plus canonical tensors (LayerWeights, see kernel.hpp), optionally split for
// one tensor-parallel rank.
//
// Every error is a qlinear::Error naming the file, the tensor and what was expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qlinear/kernel.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear::checkpoint {

// ---- safetensors ---------------------------------------------------------------------------
// File layout: u64 little-endian header length L, L bytes of JSON
//   {"__metadata__": {str: str}, NAME: {"dtype": D, "shape": [..], "data_offsets": [begin, end]}}
// then the tensor bytes; offsets are relative to the end of the header.

// The format's dtype strings: every dtype of the reference implementation's Dtype enum. F4 (e2m1,
// torch's float4_e2m1fn_x2) packs two elements a byte, the even element in the low nibble; its
// shape counts elements, not bytes.
enum class Dtype : uint8_t {
  BOOL,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  F64,
  I64,
  U64,
  F4,
  F6_E2M3,
  F6_E3M2,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  C64
};
std::string_view name(Dtype dtype);
std::optional<Dtype> parse_dtype(std::string_view text);
int element_bits(Dtype dtype);
// The bytes of `numel` elements; an Error where they are not whole bytes (an odd count of F4, a
// count of F6 not a multiple of 4) or would overflow int64.
int64_t storage_bytes(Dtype dtype, int64_t numel);
// The qlinear type with the same bits (U8 -> uint8, F8_E4M3 -> float8_e4m3fn, F4 ->
// float4_e2m1f, ...); nullopt for BOOL, I16, U16, U32, F64, I64, U64, the F6 and FNUZ types and
// C64.
std::optional<ScalarType> scalar_type(Dtype dtype);

struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::U8;
  std::vector<int64_t> shape;  // [] for a scalar
  const std::byte* data = nullptr;
  int64_t nbytes = 0;
  std::string file;  // the file it lives in, for messages

  int64_t numel() const;
  // "model.layers.0.mlp.down_proj.qweight (I32[128, 4096] in model-00001-of-00002.safetensors)"
  std::string describe() const;
  // Element i as a double (BOOL as 0 / 1); an Error for the dtypes qlinear has no values of (the F6
  // and FNUZ types, C64).
  double value(int64_t index) const;
};

// One safetensors file, memory-mapped (or parsed from bytes held in memory). Opening validates the
// whole header: JSON well formed, every dtype known, every shape's byte size equal to its
// data_offsets span, every span inside the file, no two spans overlapping.
class SafetensorsFile {
 public:
  static std::shared_ptr<const SafetensorsFile> open(const std::string& path);
  // The same checks on bytes in memory (copied); `label` names them in messages.
  static std::shared_ptr<const SafetensorsFile> parse(std::span<const std::byte> bytes,
                                                      const std::string& label);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorEntry>& tensors() const { return tensors_; }
  const TensorEntry* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  void read_header();
  std::string path_;
  const std::byte* bytes_ = nullptr;
  int64_t size_ = 0;
  void* mapping_ = nullptr;       // mmap'ed region, or nullptr
  std::vector<std::byte> owned_;  // bytes of a parsed buffer
  std::vector<TensorEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  Dtype dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;  // numel * element_bytes(dtype) bytes
};
// Writes a safetensors file (tensors in the given order, header padded to 8 bytes).
void write_safetensors(const std::string& path, std::span<const TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata = {});

// ---- checkpoint folders --------------------------------------------------------------------

// A checkpoint folder: config.json (optional: torch_dtype, quantization_config),
// hf_quant_config.json (optional, ModelOpt; else AutoGPTQ's quantize_config.json or AutoAWQ's
// quant_config.json), and model.safetensors.index.json with its shards, or every *.safetensors
// file of the folder.
class Checkpoint {
 public:
  static Checkpoint open(const std::string& directory);

  const std::string& directory() const;
  // Every file the checkpoint was read from (configs, index, safetensors files), as opened.
  const std::vector<std::string>& paths() const;
  // The tensor of that name, or nullptr / a qlinear::Error naming the checkpoint.
  const TensorEntry* find(std::string_view name) const;
  const TensorEntry& get(std::string_view name) const;
  int file_count() const;
  // config.json's torch_dtype (or dtype): the activation and output type of the layers; bf16
  // when absent.
  ScalarType activation_type() const;
  // The quantization format of the folder: "gptq", "awq", "compressed-tensors", "modelopt",
  // "fp8", "mxfp4" (gpt-oss), or "none".
  std::string quant_method() const;

  // The parsed folder, for the converters (src/checkpoint/convert.hpp defines it).
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

// A layer in the canonical meaning. `format` says how it was stored ("gptq v1 4-bit act order",
// "compressed-tensors nvfp4-pack-quantized", ...); bias is [N] of the checkpoint's dtype.
struct CheckpointLayer : LayerTensors {
  std::string name;
  std::string format;
  LayerConfig config;
  Tensor bias;
};

// The prefixes of every linear layer of the checkpoint (quantized or not), sorted.
std::vector<std::string> linear_layers(const Checkpoint& checkpoint);
// Whether the quantization config leaves the layer unquantized (ignored / excluded, or a plain
// floating-point weight); such layers have no qlinear family.
bool is_unquantized(const Checkpoint& checkpoint, std::string_view layer);
// Why the layer is unquantized, or "" when it is quantized: the config entry that leaves it so
// (gpt-oss: "modules_to_not_convert 'model.layers.*.self_attn'"), else "plain BF16 weight" for a
// floating-point weight no config entry names.
std::string unquantized_reason(const Checkpoint& checkpoint, std::string_view layer);
// Reads the layer `prefix` (e.g. "model.layers.0.mlp.down_proj") and converts it. The result
// passes validate() and validate_weights(). (A tensor-parallel rank's part alone: the overload
// with a TensorParallel, below.)
CheckpointLayer load_layer(const Checkpoint& checkpoint, std::string_view prefix);

// The layer as it is served on `platform` (serving_config, qlinear/registry.hpp): as loaded, or
// under the weight-only family that reads the same weights, its static input scale dropped (an
// FP8 checkpoint's layer on sm_80 or a CPU: fp8_weight_only), or re-encoded by
// nvfp4_as_fp8_block (an NVFP4 layer on sm_89 .. sm_9x: fp8_block); its format says why, with
// the accuracy rule. A kernel forced by name (`forced_kernel`, empty for none) of the layer's own
// family keeps it as loaded. Throws where QLINEAR_NVFP4_AS_FP8_BLOCK holds no accepted value.
CheckpointLayer serve_on(CheckpointLayer layer, const Platform& platform,
                         std::string_view forced_kernel = {});

// An NVFP4 layer (nvfp4 or nvfp4_weight_only) re-encoded as 128 x 128 block FP8 (fp8_block, its
// activations quantized per 1 x 128 to e4m3 when run), for GPUs with FP8 tensor cores and no FP4
// ones. Each 128 x 128 block's fp32 scale is the global scale times the power of two that brings
// its largest e2m1 · e4m3 value to at most 448; each weight ŵ becomes the nearest e4m3 times it:
// within nvfp4_as_fp8_block_bound(ŵ, block scale) = max(2^-4 |ŵ|, 2^-10 · block scale) of ŵ, and
// exact where the block's values fit e4m3 (src/checkpoint/nvfp4_as_fp8_block.cpp says when).
CheckpointLayer nvfp4_as_fp8_block(const CheckpointLayer& nvfp4);
double nvfp4_as_fp8_block_bound(double w_hat, double block_scale);

// ---- tensor parallelism --------------------------------------------------------------------

// Column parallel: rank r holds output rows [r·N/s, (r+1)·N/s) and its slice of the bias; the
// outputs concatenate. Row parallel: rank r holds input columns [r·K/s, (r+1)·K/s) and takes that
// slice of x; the outputs sum, and only rank 0 adds the bias (as vLLM's RowParallelLinear does).
enum class Split : uint8_t { columns, rows };
std::string_view name(Split split);
struct TensorParallel {
  Split split = Split::columns;
  int rank = 0;
  int size = 1;
};
// The split an engine uses for a layer of this name: rows for o_proj, down_proj, out_proj,
// dense_4h_to_h, fc2, w2 and wo; columns otherwise.
Split default_split(std::string_view layer);
// Rank `tp.rank`'s part of the layer. Throws when the split would cut a group, a block or a
// packed byte, or N (K) is not a multiple of the size, saying which. Act-order layers split by
// rows keep every group's scales (the rank's g_idx may name any group).
CheckpointLayer split_layer(const CheckpointLayer& layer, const TensorParallel& tp);
// Rank tp.rank's part of the layer `prefix`: the same layer, byte for byte, as
// split_layer(load_layer(checkpoint, prefix), tp), but read and converted from the mapped files
// alone, never touching the other ranks' rows (columns) of the weight, scales, zero points and
// g_idx: only a word or byte of packed codes that the split cuts is read whole. A split that
// cannot be made is refused, as split_layer refuses it, before any weight is read.
CheckpointLayer load_layer(const Checkpoint& checkpoint, std::string_view prefix,
                           const TensorParallel& tp);
// How load_layer hands over codes a checkpoint stores in 32-bit words along K (GPTQ's qweight):
// as the canonical [N, K] copy, or as they lie in the mapped files, a view that holds the
// checkpoint open (LayerWeights::weight, qlinear/kernel.hpp). The cpu dequant kernels pack those
// in one pass, without the copy; QuantizedLinear makes the canonical copy for any other kernel.
// For a layer prepared on the CPU: a CUDA layer's tensors are copied, which needs them contiguous.
enum class Codes : uint8_t { canonical, as_stored };
CheckpointLayer load_layer(const Checkpoint& checkpoint, std::string_view prefix,
                           const TensorParallel& tp, Codes codes);
// The layer's bias [N] as load_layer reads it, or an undefined tensor when it has none: what a
// row-parallel rank other than 0 adds after the sum (its part from load_layer has no bias).
Tensor load_bias(const Checkpoint& checkpoint, std::string_view prefix);

}  // namespace qlinear::checkpoint
