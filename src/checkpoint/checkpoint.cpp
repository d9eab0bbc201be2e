// Checkpoint folders: config.json, hf_quant_config.json (or the older quantize_config.json /
// quant_config.json), the shard index, and the dispatch of a layer to its format's converter.
#include <algorithm>
#include <filesystem>
#include <set>

#include "checkpoint/convert.hpp"
#include "checkpoint/json_input.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::checkpoint {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMethods = "gptq, awq, compressed-tensors, modelopt, fp8, mxfp4";

// Whether the folder holds an entry of that name, whatever it is: a broken link, a link loop or a
// FIFO named config.json is there (and refused when read), not silently absent.
bool present(const fs::path& path) {
  std::error_code error;
  return fs::exists(fs::symlink_status(path, error));
}

json read_json(Checkpoint::Impl& impl, const fs::path& path) {
  impl.paths.push_back(path.string());
  return read_json_file(path.string());
}

ScalarType torch_dtype(const json& config, const std::string& where) {
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (!config.contains(key)) continue;
    const std::string text = json_string(config, key, "", where);
    const auto type = parse_scalar_type(text);
    require(type == ScalarType::bf16 || type == ScalarType::fp16 || type == ScalarType::fp32, where,
            key, " is '", text, "'; expected bfloat16, float16 or float32");
    return *type;
  }
  return ScalarType::bf16;
}

// The quantization description and its method name.
void read_quantization(Checkpoint::Impl& impl, const json& config) {
  const fs::path dir(impl.directory);
  if (config.contains("quantization_config")) {
    const std::string where = cat(impl.directory, "/config.json: quantization_config.");
    impl.quant = config["quantization_config"];
    require(impl.quant.is_object(), where, " is not an object");
    impl.method = json_string(impl.quant, "quant_method", "", where);
    require(!impl.method.empty(), where, "quant_method is missing; expected one of ", kMethods);
    if (impl.method == "modelopt" && impl.quant.contains("quantization"))
      impl.quant = impl.quant["quantization"];
  } else if (present(dir / "hf_quant_config.json")) {
    const json hf = read_json(impl, dir / "hf_quant_config.json");
    require(hf.is_object() && hf.contains("quantization") && hf["quantization"].is_object(),
            impl.directory,
            "/hf_quant_config.json: expected an object with a \"quantization\" object");
    impl.quant = hf["quantization"];
    impl.method = "modelopt";
  } else if (present(dir / "quantize_config.json") || present(dir / "quant_config.json")) {
    // Older AutoGPTQ (quantize_config.json) and AutoAWQ (quant_config.json) folders.
    const bool gptq = present(dir / "quantize_config.json");
    const fs::path path = dir / (gptq ? "quantize_config.json" : "quant_config.json");
    impl.quant = read_json(impl, path);
    require(impl.quant.is_object(), path.string(), ": expected a JSON object");
    impl.method =
        json_string(impl.quant, "quant_method", gptq ? "gptq" : "awq", path.string() + ": ");
  } else {
    impl.method = "none";
    return;
  }
  std::transform(impl.method.begin(), impl.method.end(), impl.method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  require(impl.method == "gptq" || impl.method == "awq" || impl.method == "compressed-tensors" ||
              impl.method == "modelopt" || impl.method == "fp8" || impl.method == "mxfp4",
          impl.directory, ": quantization method '", impl.method,
          "' is not supported; supported: ", kMethods);
  if (impl.method == "mxfp4")
    read_modules_to_not_convert(impl, cat(impl.directory, "/config.json: quantization_config."));
}

void add_file(Checkpoint::Impl& impl, const fs::path& path) {
  impl.paths.push_back(path.string());
  impl.files.push_back(SafetensorsFile::open(path.string()));
  for (const TensorEntry& t : impl.files.back()->tensors()) {
    const auto [it, inserted] = impl.tensors.emplace(t.name, &t);
    require(inserted, impl.directory, ": tensor ", t.name, " is in both ", it->second->file,
            " and ", t.file);
  }
}

void read_shards(Checkpoint::Impl& impl) {
  const fs::path dir(impl.directory);
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (present(index_path)) {
    const json index = read_json(impl, index_path);
    const std::string where = cat(index_path.string(), ": ");
    require(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
            where, "expected an object with a \"weight_map\" object");
    std::set<std::string> shards;
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      require(file.is_string(), where, "weight_map[\"", tensor, "\"] is ", file.dump(),
              "; expected a file name");
      const std::string f = file.get<std::string>();
      require(!f.empty() && f.find("..") == std::string::npos && f[0] != '/', where,
              "weight_map[\"", tensor, "\"] names '", f, "'; expected a file inside the folder");
      shards.insert(f);
    }
    for (const std::string& f : shards) add_file(impl, dir / f);
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      const auto it = impl.tensors.find(tensor);
      require(it != impl.tensors.end(), where, "weight_map places tensor ", tensor, " in ",
              file.get<std::string>(), ", which does not hold it");
    }
    return;
  }
  std::vector<fs::path> files;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
    if (it->path().extension() == ".safetensors") files.push_back(it->path());
  require(!error, impl.directory, ": cannot list the folder (", error.message(), ")");
  std::sort(files.begin(), files.end());
  require(!files.empty(), impl.directory,
          ": no model.safetensors.index.json and no *.safetensors file");
  for (const auto& f : files) add_file(impl, f);
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_float_weight(const TensorEntry* e) {
  return e && (e->dtype == Dtype::BF16 || e->dtype == Dtype::F16 || e->dtype == Dtype::F32);
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& directory) {
  std::error_code error;
  const fs::file_status status = fs::status(directory, error);
  if (!fs::is_directory(status)) {
    const bool missing = !error || error == std::errc::no_such_file_or_directory;
    throw Error(cat(directory, ": not a checkpoint folder (",
                    fs::exists(status) ? "not a directory"
                    : missing          ? "no such directory"
                                       : error.message(),
                    ")"));
  }
  auto impl = std::make_shared<Impl>();
  impl->directory = directory;
  json config = json::object();
  if (present(fs::path(directory) / "config.json")) {
    config = read_json(*impl, fs::path(directory) / "config.json");
    require(config.is_object(), directory, "/config.json: expected a JSON object");
  }
  impl->act_type = torch_dtype(config, cat(directory, "/config.json: "));
  read_quantization(*impl, config);
  read_shards(*impl);
  Checkpoint c;
  c.impl_ = std::move(impl);
  return c;
}

const std::string& Checkpoint::directory() const { return impl_->directory; }
const std::vector<std::string>& Checkpoint::paths() const { return impl_->paths; }
int Checkpoint::file_count() const { return static_cast<int>(impl_->files.size()); }
ScalarType Checkpoint::activation_type() const { return impl_->act_type; }
std::string Checkpoint::quant_method() const { return impl_->method; }

const TensorEntry* Checkpoint::find(std::string_view name) const {
  const auto it = impl_->tensors.find(name);
  return it == impl_->tensors.end() ? nullptr : it->second;
}

const TensorEntry& Checkpoint::get(std::string_view name) const {
  const TensorEntry* e = find(name);
  require(e != nullptr, "checkpoint ", impl_->directory, ": no tensor named ", name);
  return *e;
}

std::vector<std::string> linear_layers(const Checkpoint& checkpoint) {
  std::set<std::string> layers;
  const bool gpt_oss = checkpoint.quant_method() == "mxfp4";
  for (const auto& [name, entry] : checkpoint.impl().tensors) {
    if (gpt_oss && ends_with(name, "_blocks")) {
      for (std::string& layer : gpt_oss_layers(*entry)) layers.insert(std::move(layer));
      continue;
    }
    for (std::string_view suffix : {".qweight", ".weight_packed", ".weight"}) {
      if (!ends_with(name, suffix)) continue;
      const std::string prefix = name.substr(0, name.size() - suffix.size());
      const std::string last = prefix.substr(prefix.rfind('.') + 1);
      const bool plain = suffix == ".weight" && is_float_weight(entry);
      // Plain float 2-D weights are linear layers unless they are embeddings or norms.
      if (plain && (entry->shape.size() != 2 || last.find("embed") != std::string::npos ||
                    last.find("norm") != std::string::npos))
        break;
      layers.insert(prefix);
      break;
    }
  }
  return {layers.begin(), layers.end()};
}

bool is_unquantized(const Checkpoint& checkpoint, std::string_view layer) {
  return !unquantized_reason(checkpoint, layer).empty();
}

std::string unquantized_reason(const Checkpoint& checkpoint, std::string_view layer) {
  const std::string prefix(layer);
  if (checkpoint.find(prefix + ".qweight") || checkpoint.find(prefix + ".weight_packed")) return {};
  const bool gpt_oss = checkpoint.quant_method() == "mxfp4";
  // A gpt-oss layer stored in MXFP4 blocks is quantized whatever the config says (load_layer
  // refuses the contradiction, naming the pattern).
  if (gpt_oss && is_gpt_oss_layer(checkpoint, layer)) return {};
  const TensorEntry* weight = checkpoint.find(prefix + ".weight");
  if (!is_float_weight(weight)) return {};
  if (const std::string* pattern =
          gpt_oss ? gpt_oss_not_converted(checkpoint.impl(), layer) : nullptr)
    return cat("modules_to_not_convert '", *pattern, "'");
  return cat("plain ", name(weight->dtype), " weight");
}

CheckpointLayer load_layer(const Checkpoint& checkpoint, std::string_view prefix,
                           const TensorParallel& tp) {
  return load_layer(checkpoint, prefix, tp, Codes::canonical);
}

CheckpointLayer load_layer(const Checkpoint& checkpoint, std::string_view prefix,
                           const TensorParallel& tp, Codes codes) {
  const auto& impl = checkpoint.impl();
  const std::string p(prefix);
  const auto first = impl.tensors.lower_bound(p + ".");
  const bool gpt_oss = impl.method == "mxfp4" && is_gpt_oss_layer(checkpoint, p);
  require(gpt_oss || (first != impl.tensors.end() && first->first.starts_with(p + ".")),
          "checkpoint ", impl.directory, ": no tensors under ", p, " (expected ", p, ".weight, ", p,
          ".qweight or ", p, ".weight_packed)");
  if (is_unquantized(checkpoint, p))
    throw Error(cat("checkpoint ", impl.directory, ", layer ", p, ": the weight is ",
                    checkpoint.get(p + ".weight").describe(),
                    ", not quantized; qlinear runs quantized layers only"));
  const LayerSource source{checkpoint, p, impl.quant, tp, codes};
  try {
    if (impl.method == "gptq") return load_gptq(source);
    if (impl.method == "awq") return load_awq(source);
    if (impl.method == "compressed-tensors") return load_compressed_tensors(source);
    if (impl.method == "modelopt") return load_modelopt(source);
    if (impl.method == "fp8") return load_fp8(source);
    if (impl.method == "mxfp4") return load_gpt_oss(source);
  } catch (const json::exception& e) {
    // The converters check each field's type; this keeps one they miss a qlinear::Error.
    throw Error(cat(source.where(), "the quantization config does not read (", e.what(), ")"));
  } catch (const std::bad_alloc&) {
    throw Error(cat(source.where(), "not enough memory to convert the layer"));
  }
  throw Error(
      cat("checkpoint ", impl.directory, ": layer ", p,
          " holds quantized tensors but the folder names no quantization method (config.json "
          "quantization_config or hf_quant_config.json); expected one of ",
          kMethods));
}

CheckpointLayer load_layer(const Checkpoint& checkpoint, std::string_view prefix) {
  return load_layer(checkpoint, prefix, TensorParallel{});
}

Tensor load_bias(const Checkpoint& checkpoint, std::string_view prefix) {
  const std::string p(prefix);
  const LayerSource source{checkpoint, p, checkpoint.impl().quant, {}};
  // Every format names it P.bias but gpt-oss, whose experts share P_bias [E, N].
  const bool gpt_oss = checkpoint.quant_method() == "mxfp4" && is_gpt_oss_layer(checkpoint, p);
  std::optional<TensorEntry> bias;
  if (gpt_oss)
    bias = gpt_oss_bias(source, std::nullopt);
  else if (source.find("bias"))
    bias = source.need("bias", kFloatScales);
  if (!bias) return {};
  require(bias->shape.size() == 1, source.where(), "tensor ", bias->describe(),
          " should be one bias per output row ([N])");
  return copy_range(bias->data, scale_type_of(*bias), 0, bias->shape[0]);
}

CheckpointLayer serve_on(CheckpointLayer layer, const Platform& platform,
                         std::string_view forced_kernel) {
  const Kernel* forced = forced_kernel.empty() ? nullptr : Registry::global().find(forced_kernel);
  Serving serving = serving_config(layer.config, platform);
  if (serving.reason.empty() || (forced && forced->family() == layer.config.family)) return layer;
  if (serving.config.family == Family::fp8_block) {  // NVFP4 where FP8 has tensor cores, FP4 none
    CheckpointLayer served = nvfp4_as_fp8_block(layer);
    served.format = cat(layer.format, ", served as fp8_block (", serving.reason, ")");
    return finish_layer(std::move(served));
  }
  layer.config = std::move(serving.config);
  layer.input_scale = Tensor();  // the activations stay in 16 bits: nothing to scale them by
  layer.format += cat(", served as ", name(layer.config.family), " (", serving.reason, ")");
  return finish_layer(std::move(layer));
}

}  // namespace qlinear::checkpoint
