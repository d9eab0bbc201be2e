// Checkpoint folders of every format qlinear reads, one layer each, filled with random bytes
// (random codes, scales and zero points; g_idx, weight_shape and per-tensor scales where the format
// constrains them): for tests that compare two ways of reading the same files, not the numbers.
#pragma once

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"

namespace qlinear::checkpoint::testing {

constexpr std::string_view kLayer = "model.layers.0.mlp.down_proj";

// How a tensor's bytes are chosen.
enum class Fill : uint8_t {
  random,    // any bytes
  groups,    // g_idx: int32 groups of `group` K positions, each in [0, K / group)
  n_and_k,   // compressed-tensors weight_shape: (N, K)
  positive,  // a per-tensor scale: one float in [0.5, 2)
};

// Where a split cuts a stored tensor, seen as [shape[0], the rest] (a vector as [1, numel]): for a
// column split and for a row split, 0 across its rows, 1 within each row, or -1 not at all (every
// rank reads all of it).
struct Cut {
  int columns = -1, rows = -1;
};
constexpr Cut kNByK{0, 1};  // [N, K...]: weights, scales [N, G]
constexpr Cut kKByN{1, 0};  // [K..., N]: GPTQ / AWQ qweight, scales [G, N]

struct TensorSpec {
  std::string suffix;  // ".qweight", or "_blocks" (gpt-oss)
  Dtype dtype;
  std::vector<int64_t> shape;
  Fill fill = Fill::random;
  Cut cut;
};

struct Format {
  std::string name;
  // config.json's quantization_config, or with `hf_quant_config` hf_quant_config.json's
  // "quantization" (ModelOpt).
  std::string quantization;
  bool hf_quant_config = false;
  int64_t n_step = 1, k_step = 1;  // the shapes the format can store: N, K multiples of these
  int64_t group = 0;               // the group of a g_idx tensor
  std::function<std::vector<TensorSpec>(int64_t n, int64_t k)> tensors;
  std::string weight;  // the tensor holding the codes
  std::string bias = ".bias";
  bool fits(int64_t n, int64_t k) const { return n % n_step == 0 && k % k_step == 0; }
};

inline std::string compressed_tensors(std::string_view format, std::string_view weights,
                                      std::string_view input = "null") {
  return cat(R"({"quant_method": "compressed-tensors", "format": ")", format,
             R"(", "ignore": ["lm_head"], "config_groups": {"group_0": {"targets": ["Linear"], )",
             R"("weights": )", weights, R"(, "input_activations": )", input, "}}}");
}

// Every format, as the checkpoint tests (test_formats.py) write them.
inline std::vector<Format> all_formats() {
  using D = Dtype;
  std::vector<Format> f;
  const auto gptq = [&](std::string name, int bits, bool sym, bool act_order, bool v2,
                        int64_t group) {
    const int64_t per_word = 32 / bits;
    f.push_back({name,
                 cat(R"({"quant_method": "gptq", "bits": )", bits, R"(, "group_size": )", group,
                     R"(, "desc_act": )", act_order ? "true" : "false", R"(, "sym": )",
                     sym ? "true" : "false", R"(, "checkpoint_format": ")", v2 ? "gptq_v2" : "gptq",
                     R"("})"),
                 false, sym ? 1 : per_word, group > 0 ? group : per_word, group,
                 [=](int64_t n, int64_t k) {
                   const int64_t groups = group > 0 ? k / group : 1;
                   // Act order (and per channel): every rank reads every group's scales and
                   // zero points.
                   const Cut grid = act_order || group < 0 ? Cut{1, -1} : kKByN;
                   std::vector<TensorSpec> t{
                       {".qweight", D::I32, {k / per_word, n}, Fill::random, kKByN},
                       {".scales", D::F16, {groups, n}, Fill::random, grid}};
                   if (!sym)
                     t.push_back({".qzeros", D::I32, {groups, n / per_word}, Fill::random, grid});
                   if (act_order) t.push_back({".g_idx", D::I32, {k}, Fill::groups, {-1, 1}});
                   return t;
                 },
                 ".qweight"});
  };
  gptq("gptq_v1_4bit_sym", 4, true, false, false, 128);
  gptq("gptq_v1_4bit_asym", 4, false, false, false, 128);
  gptq("gptq_v1_4bit_act_order", 4, true, true, false, 128);
  gptq("gptq_v1_4bit_asym_act_order", 4, false, true, false, 128);
  gptq("gptq_v2_4bit_asym", 4, false, false, true, 128);
  gptq("gptq_v1_8bit_sym", 8, true, false, false, 128);
  gptq("gptq_v1_8bit_asym_act_order", 8, false, true, false, 128);
  gptq("gptq_4bit_channel", 4, true, false, false, -1);
  f.push_back({"awq_4bit",
               R"({"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": true,
                   "version": "gemm"})",
               false, 8, 128, 0,
               [](int64_t n, int64_t k) {
                 return std::vector<TensorSpec>{
                     {".qweight", D::I32, {k, n / 8}, Fill::random, kKByN},
                     {".qzeros", D::I32, {k / 128, n / 8}, Fill::random, kKByN},
                     {".scales", D::F16, {k / 128, n}, Fill::random, kKByN}};
               },
               ".qweight"});

  // w4a8: "" (weight-only), or the type of the dynamic per-token activations ("int", "float").
  const auto pack = [&](std::string name, int bits, bool sym, bool group, bool act_order,
                        std::string w4a8) {
    const int64_t per_word = 32 / bits, g = group ? 128 : 0;
    const std::string weights =
        cat(R"({"num_bits": )", bits, R"(, "type": "int", "symmetric": )", sym ? "true" : "false",
            R"(, "strategy": ")", group ? "group" : "channel", R"(", "group_size": )",
            group ? "128" : "null", R"(, "actorder": )", act_order ? R"("group")" : "null", "}");
    f.push_back(
        {name,
         compressed_tensors("pack-quantized", weights,
                            w4a8.empty() ? "null"
                                         : cat(R"({"num_bits": 8, "type": ")", w4a8,
                                               R"(", "symmetric": true, "strategy": "token", )"
                                               R"("dynamic": true})")),
         false, 1, group ? 128 : 1, g,
         [=](int64_t n, int64_t k) {
           const int64_t groups = group ? k / 128 : 1;
           const Cut grid = group && !act_order ? kNByK : Cut{0, -1};
           std::vector<TensorSpec> t{
               {".weight_packed", D::I32, {n, (k + per_word - 1) / per_word}, Fill::random, kNByK},
               {".weight_scale", D::BF16, {n, groups}, Fill::random, grid},
               {".weight_shape", D::I64, {2}, Fill::n_and_k}};
           if (!sym)
             t.push_back({".weight_zero_point",
                          D::I32,
                          {(n + per_word - 1) / per_word, groups},
                          Fill::random,
                          grid});
           if (act_order) t.push_back({".weight_g_idx", D::I32, {k}, Fill::groups, {-1, 1}});
           return t;
         },
         ".weight_packed"});
  };
  pack("ct_w4a16_group", 4, true, true, false, "");
  pack("ct_w4a16_group_asym", 4, false, true, false, "");
  pack("ct_w4a16_act_order", 4, true, true, true, "");
  pack("ct_w4a16_channel_asym", 4, false, false, false, "");
  pack("ct_w8a16_group", 8, true, true, false, "");
  pack("ct_w4a8", 4, true, true, false, "int");
  pack("ct_w4a8_fp8", 4, true, true, false, "float");

  // The scales' (and zero points') shape for [N, K], and where a split cuts them.
  struct Grid {
    std::function<std::vector<int64_t>(int64_t, int64_t)> shape;
    Cut cut;
  };
  // e4m3 or int8 weights [N, K] with scales on `grid` and the per-tensor `scalars`.
  const auto dense = [&](std::string name, std::string quantization, bool hf, D weight,
                         int64_t k_step, int64_t n_step, Grid grid, D scale_type,
                         std::vector<TensorSpec> scalars, std::string scale = ".weight_scale",
                         bool zero_points = false) {
    f.push_back(
        {name, quantization, hf, n_step, k_step, 0,
         [=](int64_t n, int64_t k) {
           std::vector<TensorSpec> t{{".weight", weight, {n, k}, Fill::random, kNByK},
                                     {scale, scale_type, grid.shape(n, k), Fill::random, grid.cut}};
           t.insert(t.end(), scalars.begin(), scalars.end());
           if (zero_points)
             t.push_back({".weight_zero_point", D::I8, grid.shape(n, k), Fill::random, grid.cut});
           return t;
         },
         ".weight"});
  };
  const auto scalar = [](std::string suffix) {
    return TensorSpec{std::move(suffix), D::F32, {1}, Fill::positive};
  };
  const Grid per_tensor{[](int64_t, int64_t) { return std::vector<int64_t>{1}; }, {}};
  const Grid per_channel{[](int64_t n, int64_t) { return std::vector<int64_t>{n, 1}; }, {0, -1}};
  const Grid per_group{[](int64_t n, int64_t k) {
                         return std::vector<int64_t>{n, k / 128};
                       },
                       kNByK};
  const Grid blocks{[](int64_t n, int64_t k) {
                      return std::vector<int64_t>{(n + 127) / 128, (k + 127) / 128};
                    },
                    kNByK};
  const auto ints = [](std::string_view strategy, std::string_view act, bool dynamic, bool sym) {
    return compressed_tensors(
        "int-quantized",
        cat(R"({"num_bits": 8, "type": "int", "strategy": ")", strategy,
            R"(", "symmetric": true})"),
        cat(R"({"num_bits": 8, "type": "int", "symmetric": )", sym ? "true" : "false",
            R"(, "strategy": ")", act, R"(", "dynamic": )", dynamic ? "true" : "false", "}"));
  };
  dense("ct_int8_channel_dynamic_token", ints("channel", "token", true, true), false, D::I8, 1, 1,
        per_channel, D::F32, {});
  dense("ct_int8_tensor_static", ints("tensor", "tensor", false, true), false, D::I8, 1, 1,
        per_tensor, D::F32, {scalar(".input_scale")});
  dense("ct_int8_channel_static_asym", ints("channel", "tensor", false, false), false, D::I8, 1, 1,
        per_channel, D::F32, {scalar(".input_scale"), {".input_zero_point", D::I8, {1}}});
  const auto int8_weight_only = [](std::string_view strategy, bool sym) {
    return compressed_tensors(
        "int-quantized", cat(R"({"num_bits": 8, "type": "int", "strategy": ")", strategy,
                             R"(", "symmetric": )", sym ? "true" : "false", R"(, "group_size": )",
                             strategy == "group" ? "128" : "null", "}"));
  };
  dense("ct_int8_weight_only_channel", int8_weight_only("channel", true), false, D::I8, 1, 1,
        per_channel, D::BF16, {});
  dense("ct_int8_weight_only_group_asym", int8_weight_only("group", false), false, D::I8, 128, 1,
        per_group, D::BF16, {}, ".weight_scale", true);
  const auto fp8 = [](std::string_view strategy, std::string_view input) {
    return compressed_tensors(
        "float-quantized",
        cat(R"({"num_bits": 8, "type": "float", "symmetric": true, "strategy": ")", strategy,
            R"(", "block_structure": [128, 128]})"),
        input);
  };
  const std::string fp8_token =
      R"({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "token", "dynamic": true})";
  const std::string fp8_static =
      R"({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "tensor",
          "dynamic": false})";
  const std::string fp8_groups =
      R"({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "group",
          "group_size": 128, "dynamic": true})";
  dense("ct_fp8_channel_dynamic_token", fp8("channel", fp8_token), false, D::F8_E4M3, 1, 1,
        per_channel, D::F32, {});
  dense("ct_fp8_tensor_static", fp8("tensor", fp8_static), false, D::F8_E4M3, 1, 1, per_tensor,
        D::F32, {scalar(".input_scale")});
  dense("ct_fp8_block", fp8("block", fp8_groups), false, D::F8_E4M3, 1, 1, blocks, D::F32, {});
  dense("ct_fp8_weight_only_channel", fp8("channel", "null"), false, D::F8_E4M3, 1, 1, per_channel,
        D::F32, {});
  dense("ct_fp8_weight_only_tensor", fp8("tensor", "null"), false, D::F8_E4M3, 1, 1, per_tensor,
        D::F32, {});
  dense("modelopt_fp8", R"({"quant_algo": "FP8", "exclude_modules": ["lm_head"]})", true,
        D::F8_E4M3, 1, 1, per_tensor, D::F32, {scalar(".input_scale")});
  dense("modelopt_fp8_per_channel",
        R"({"quant_algo": "FP8_PER_CHANNEL_PER_TOKEN", "exclude_modules": ["lm_head"]})", true,
        D::F8_E4M3, 1, 1, per_channel, D::F32, {});
  dense("deepseek_fp8_block",
        R"({"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
            "weight_block_size": [128, 128]})",
        false, D::F8_E4M3, 1, 1, blocks, D::F32, {}, ".weight_scale_inv");
  dense("fp8_per_tensor_static", R"({"quant_method": "fp8", "activation_scheme": "static"})", false,
        D::F8_E4M3, 1, 1, per_tensor, D::F32, {scalar(".input_scale")});
  dense("fp8_per_tensor_dynamic", R"({"quant_method": "fp8", "activation_scheme": "dynamic"})",
        false, D::F8_E4M3, 1, 1, per_tensor, D::F32, {});

  // Microscaled: codes (e2m1 pairs as U8 [N, K/2], or e4m3 [N, K]) and a scale per `group`.
  const auto micro = [&](std::string name, std::string quantization, bool hf, bool fp4,
                         int64_t group, D scale, std::string codes,
                         std::vector<std::string> scalars) {
    f.push_back({name, quantization, hf, 1, group, 0,
                 [=](int64_t n, int64_t k) {
                   std::vector<TensorSpec> t{
                       {codes, fp4 ? D::U8 : D::F8_E4M3, {n, fp4 ? k / 2 : k}, Fill::random, kNByK},
                       {".weight_scale", scale, {n, k / group}, Fill::random, kNByK}};
                   for (const std::string& s : scalars)
                     t.push_back({s, D::F32, {1}, Fill::positive});
                   return t;
                 },
                 codes});
  };
  const std::string nvfp4_weights =
      R"({"num_bits": 4, "type": "float", "symmetric": true, "strategy": "tensor_group",
          "group_size": 16})";
  micro("ct_nvfp4_w4a4",
        compressed_tensors("nvfp4-pack-quantized", nvfp4_weights,
                           R"({"num_bits": 4, "type": "float", "symmetric": true,
                               "strategy": "tensor_group", "group_size": 16, "dynamic": "local"})"),
        false, true, 16, D::F8_E4M3, ".weight_packed",
        {".weight_global_scale", ".input_global_scale"});
  micro("ct_nvfp4_w4a16", compressed_tensors("nvfp4-pack-quantized", nvfp4_weights), false, true,
        16, D::F8_E4M3, ".weight_packed", {".weight_global_scale"});
  // compressed-tensors' MX args: `bits`-bit floats with a scale per 32 (activations: dynamic).
  const auto mx = [](int bits, bool activations) {
    return cat(R"({"num_bits": )", bits,
               R"(, "type": "float", "symmetric": true, "strategy": "group", "group_size": 32)",
               activations ? R"(, "dynamic": true})" : "}");
  };
  const std::string mx8 = mx(8, false), mx8_input = mx(8, true), mx4 = mx(4, false),
                    mx4_input = mx(4, true);
  micro("ct_mxfp8", compressed_tensors("mxfp8-quantized", mx8, mx8_input), false, false, 32, D::U8,
        ".weight", {});
  micro("ct_mxfp8_weight_only", compressed_tensors("mxfp8-quantized", mx8), false, false, 32, D::U8,
        ".weight", {});
  micro("ct_mxfp8_as_float_quantized", compressed_tensors("float-quantized", mx8, mx8_input), false,
        false, 32, D::F8_E8M0, ".weight", {});
  micro("ct_mxfp4_w4a16", compressed_tensors("mxfp4-pack-quantized", mx4), false, true, 32, D::U8,
        ".weight_packed", {});
  micro("ct_mxfp4_w4a4", compressed_tensors("mxfp4-pack-quantized", mx4, mx4_input), false, true,
        32, D::U8, ".weight_packed", {});
  micro("modelopt_nvfp4",
        R"({"quant_algo": "NVFP4", "group_size": 16, "exclude_modules": ["lm_head"]})", true, true,
        16, D::F8_E4M3, ".weight", {".weight_scale_2", ".input_scale"});
  micro("modelopt_mxfp8", R"({"quant_algo": "MXFP8", "exclude_modules": ["lm_head"]})", true, false,
        32, D::U8, ".weight", {});

  const std::string gpt_oss_config =
      R"({"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn"]})";
  f.push_back({"gpt_oss_mxfp4", gpt_oss_config, false, 1, 32, 0,
               [](int64_t n, int64_t k) {
                 return std::vector<TensorSpec>{
                     {"_blocks", D::U8, {n, k / 32, 16}, Fill::random, kNByK},
                     {"_scales", D::U8, {n, k / 32}, Fill::random, kNByK}};
               },
               "_blocks", "_bias"});
  return f;
}

// Bytes for one tensor; never all zeros.
inline std::vector<std::byte> fill(const TensorSpec& t, int64_t n, int64_t k, int64_t group,
                                   std::mt19937_64& random) {
  int64_t count = 1;
  for (int64_t d : t.shape) count *= d;
  std::vector<std::byte> bytes(static_cast<size_t>(storage_bytes(t.dtype, count)));
  const auto put = [&](int64_t i, auto value) {
    std::memcpy(bytes.data() + i * sizeof(value), &value, sizeof(value));
  };
  switch (t.fill) {
    case Fill::random:
      for (size_t i = 0; i < bytes.size(); i += 8) {
        const uint64_t r = random();
        std::memcpy(bytes.data() + i, &r, std::min<size_t>(8, bytes.size() - i));
      }
      break;
    case Fill::groups:
      for (int64_t i = 0; i < count; ++i)
        put(i, static_cast<int32_t>(random() % static_cast<uint64_t>(k / group)));
      break;
    case Fill::n_and_k:
      put(0, n);
      put(1, k);
      break;
    case Fill::positive:
      put(0, static_cast<float>(0.5 + std::uniform_real_distribution<double>(0, 1.5)(random)));
      break;
  }
  return bytes;
}

// The files of one layer of `format`, [N, K], with a bias: the tensors by name, in memory.
struct Files {
  std::vector<std::string> names;
  std::vector<TensorSpec> specs;
  std::vector<std::vector<std::byte>> bytes;
};

inline Files random_files(const Format& format, int64_t n, int64_t k, uint64_t seed) {
  std::mt19937_64 random(seed);
  Files files;
  std::vector<TensorSpec> specs = format.tensors(n, k);
  // A column split cuts the bias; a row split leaves it to rank 0 whole.
  specs.push_back({format.bias, Dtype::BF16, {n}, Fill::random, {1, -1}});
  for (const TensorSpec& t : specs) {
    files.names.push_back(cat(kLayer, t.suffix));
    files.specs.push_back(t);
    files.bytes.push_back(fill(t, n, k, format.group, random));
  }
  return files;
}

// Writes the folder `directory` (replacing it) with config.json and one safetensors file.
inline void write_checkpoint(const std::filesystem::path& directory, const Format& format,
                             const Files& files) {
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  std::ofstream config(directory / "config.json");
  config << R"({"torch_dtype": "bfloat16")";
  if (!format.hf_quant_config) config << R"(, "quantization_config": )" << format.quantization;
  config << "}";
  if (format.hf_quant_config)
    std::ofstream(directory / "hf_quant_config.json")
        << R"({"quantization": )" << format.quantization << "}";
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < files.names.size(); ++i)
    tensors.push_back({files.names[i], files.specs[i].dtype, files.specs[i].shape,
                       std::span<const std::byte>(files.bytes[i])});
  write_safetensors((directory / "model.safetensors").string(), tensors);
}

}  // namespace qlinear::checkpoint::testing
