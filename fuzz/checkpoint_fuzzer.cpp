// libFuzzer target: checkpoint folders through every converter. The first input byte picks a
// quantization config (config.json / hf_quant_config.json), the rest is the safetensors file; each
// linear layer is converted and split for two tensor-parallel ranks both ways. Anything but a
// converted layer or a qlinear::Error is a bug. Not built by CI (it needs the whole library built
// with clang and sanitizers); fuzz/README.md says how to build and run it.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "convert_every_layer.hpp"
namespace fs = std::filesystem;

// {config.json, hf_quant_config.json or nullptr}: one per converter path; the seeds in
// corpus_checkpoint/ (make_seeds.py) start with the index of their config.
static const char* kConfigs[][2] = {
    {R"({"torch_dtype":"float16","quantization_config":{"quant_method":"gptq","bits":4,"group_size":64,"desc_act":true,"sym":false}})",
     nullptr},
    {R"({"torch_dtype":"float16","quantization_config":{"quant_method":"gptq","bits":8,"group_size":-1,"sym":true,"checkpoint_format":"gptq_v2"}})",
     nullptr},
    {R"({"torch_dtype":"float16","quantization_config":{"quant_method":"awq","bits":4,"group_size":64,"zero_point":true,"version":"gemm"}})",
     nullptr},
    {R"({"quantization_config":{"quant_method":"compressed-tensors","format":"pack-quantized","config_groups":{"g":{"targets":["Linear"],"weights":{"num_bits":4,"type":"int","symmetric":false,"strategy":"group","group_size":32,"actorder":"group"}}}}})",
     nullptr},
    {R"({"quantization_config":{"quant_method":"compressed-tensors","format":"int-quantized","config_groups":{"g":{"targets":["Linear"],"weights":{"num_bits":8,"type":"int","symmetric":true,"strategy":"channel"},"input_activations":{"num_bits":8,"type":"int","symmetric":false,"strategy":"tensor","dynamic":false}}}}})",
     nullptr},
    {R"({"quantization_config":{"quant_method":"compressed-tensors","format":"float-quantized","config_groups":{"g":{"targets":["Linear"],"weights":{"num_bits":8,"type":"float","strategy":"block","block_structure":[32,32]},"input_activations":{"num_bits":8,"type":"float","strategy":"group","group_size":32,"dynamic":true}}}}})",
     nullptr},
    {R"({"quantization_config":{"quant_method":"compressed-tensors","format":"nvfp4-pack-quantized","config_groups":{"g":{"targets":["Linear"],"weights":{"num_bits":4,"type":"float","strategy":"tensor_group","group_size":16},"input_activations":{"num_bits":4,"type":"float","strategy":"tensor_group","group_size":16,"dynamic":"local"}}}}})",
     nullptr},
    {R"({"quantization_config":{"quant_method":"compressed-tensors","format":"float-quantized","config_groups":{"g":{"targets":["Linear"],"weights":{"num_bits":8,"type":"float","strategy":"group","group_size":32}}}}})",
     nullptr},
    {R"({"quantization_config":{"quant_method":"fp8","activation_scheme":"dynamic","weight_block_size":[32,32]}})",
     nullptr},
    {R"({"quantization_config":{"quant_method":"fp8","activation_scheme":"static"}})", nullptr},
    {R"({})", R"({"quantization":{"quant_algo":"NVFP4","group_size":16}})"},
    {R"({})", R"({"quantization":{"quant_algo":"FP8"}})"},
    {R"({})", R"({"quantization":{"quant_algo":"MXFP8"}})"},
};
constexpr int kCount = sizeof(kConfigs) / sizeof(kConfigs[0]);
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const fs::path dir = fs::temp_directory_path() / ("convfuzz_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const auto& cfg = kConfigs[data[0] % kCount];
  std::ofstream(dir / "config.json") << cfg[0];
  if (cfg[1])
    std::ofstream(dir / "hf_quant_config.json") << cfg[1];
  else
    fs::remove(dir / "hf_quant_config.json");
  {
    std::ofstream f(dir / "model.safetensors", std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data + 1), size - 1);
  }
  convert_every_layer(dir.string());
  return 0;
}
