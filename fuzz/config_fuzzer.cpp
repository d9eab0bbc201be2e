// libFuzzer target: the config readers. The first input byte picks the file the rest becomes
// ('0' config.json, '1' hf_quant_config.json, '2' quantize_config.json, '3' quant_config.json,
// '4' model.safetensors.index.json) in a folder whose model.safetensors holds one small layer of
// each format (GPTQ, AWQ, compressed-tensors pack-quantized, fp8 and mxfp4, ModelOpt / block-FP8
// fp8, NVFP4, gpt-oss MXFP4 with a stack of two experts); then convert_every_layer. Anything but a
// converted layer or a qlinear::Error is a bug.
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "convert_every_layer.hpp"

namespace fs = std::filesystem;
using namespace qlinear::checkpoint;

namespace {

constexpr std::array<const char*, 5> kFiles = {"config.json", "hf_quant_config.json",
                                               "quantize_config.json", "quant_config.json",
                                               "model.safetensors.index.json"};

// N = 16, K = 64; every byte 0x3c (fp16 1.0 in the high byte, small positive fp32 and e4m3).
fs::path make_folder() {
  const fs::path dir =
      fs::temp_directory_path() / ("qlinear_config_fuzz_" + std::to_string(getpid()));
  fs::create_directories(dir);
  static std::vector<std::byte> fill(16 * 64 * 8, std::byte{0x3c});
  const auto bytes = [](int64_t count) { return std::span<const std::byte>(fill).first(count); };
  static const int64_t shape_nk[2] = {16, 64};
  static const std::vector<int32_t> g_idx(64, 0);
  const std::vector<TensorToWrite> tensors = {
      {"gptq.qweight", Dtype::I32, {8, 16}, bytes(512)},
      {"gptq.scales", Dtype::F16, {1, 16}, bytes(32)},
      {"gptq.qzeros", Dtype::I32, {1, 2}, bytes(8)},
      {"gptq.g_idx", Dtype::I32, {64}, std::as_bytes(std::span(g_idx))},
      {"awq.qweight", Dtype::I32, {64, 2}, bytes(512)},
      {"awq.scales", Dtype::F16, {1, 16}, bytes(32)},
      {"awq.qzeros", Dtype::I32, {1, 2}, bytes(8)},
      {"ct.weight_packed", Dtype::I32, {16, 8}, bytes(512)},
      {"ct.weight_shape", Dtype::I64, {2}, std::as_bytes(std::span(shape_nk))},
      {"ct.weight_scale", Dtype::F16, {16, 1}, bytes(32)},
      {"fp8.weight", Dtype::F8_E4M3, {16, 64}, bytes(1024)},
      {"fp8.weight_scale", Dtype::F32, {}, bytes(4)},
      {"fp8.weight_scale_inv", Dtype::F32, {1, 1}, bytes(4)},
      {"fp8.input_scale", Dtype::F32, {}, bytes(4)},
      {"fp4.weight", Dtype::U8, {16, 32}, bytes(512)},
      {"fp4.weight_packed", Dtype::U8, {16, 32}, bytes(512)},
      {"fp4.weight_scale", Dtype::F8_E4M3, {16, 4}, bytes(64)},
      {"fp4.weight_scale_2", Dtype::F32, {}, bytes(4)},
      {"fp4.weight_global_scale", Dtype::F32, {}, bytes(4)},
      {"fp4.input_global_scale", Dtype::F32, {}, bytes(4)},
      {"fp4.input_scale", Dtype::F32, {}, bytes(4)},
      {"mxct.weight_packed", Dtype::U8, {16, 32}, bytes(512)},
      {"mxct.weight_scale", Dtype::U8, {16, 2}, bytes(32)},
      {"mx.proj_blocks", Dtype::U8, {16, 2, 16}, bytes(512)},
      {"mx.proj_scales", Dtype::U8, {16, 2}, bytes(32)},
      {"mx.experts.down_proj_blocks", Dtype::U8, {2, 16, 2, 16}, bytes(1024)},
      {"mx.experts.down_proj_scales", Dtype::U8, {2, 16, 2}, bytes(64)},
      {"mx.experts.down_proj_bias", Dtype::F32, {2, 16}, bytes(128)},
  };
  write_safetensors((dir / "model.safetensors").string(), tensors);
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path dir = make_folder();
  if (size < 1) return 0;
  for (const char* file : kFiles) fs::remove(dir / file);
  {
    std::ofstream out(dir / kFiles[(data[0] - '0') % kFiles.size()], std::ios::binary);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  convert_every_layer(dir.string());
  return 0;
}
