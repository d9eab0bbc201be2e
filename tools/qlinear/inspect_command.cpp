// `qlinear inspect`: every linear layer of a checkpoint with its format, shape, scales and the
// kernel that would be chosen for it on this machine.
#include <cstdio>

#include "commands.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::tool {
namespace {

std::string scales_text(const LayerConfig& c) {
  switch (c.weight_scale) {
    case Granularity::per_group:
      return cat("group ", c.group_size, c.act_order ? " act-order" : "");
    case Granularity::block:
      return cat("block ", c.block_n, "x", c.group_size);
    default:
      return std::string(name(c.weight_scale));
  }
}

}  // namespace

void add_inspect(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "inspect", "list a checkpoint's linear layers and the kernel each would get");
  static std::string model, device_text = "default";
  command->add_option("--model", model, "checkpoint folder")->required();
  command->add_option("--device", device_text,
                      "choose kernels for cpu, cuda, cuda:N, a named target, or default");
  command->callback([&exit_code] {
    using namespace checkpoint;
    const Checkpoint ckpt = Checkpoint::open(model);
    const Platform platform = target_platform(device_text);
    const auto layers = linear_layers(ckpt);
    std::printf(
        "checkpoint %s: %d safetensors file%s, quantization %s, activations %s, %zu linear "
        "layers\n",
        ckpt.directory().c_str(), ckpt.file_count(), ckpt.file_count() == 1 ? "" : "s",
        ckpt.quant_method().c_str(), std::string(name(ckpt.activation_type())).c_str(),
        layers.size());
    std::printf("kernels chosen for %s\n", platform.str().c_str());
    std::printf("%-44s %-48s %-18s %7s %7s %-20s %s\n", "layer", "format", "family", "N", "K",
                "scales", "kernel");
    int errors = 0;
    for (const std::string& layer : layers) {
      if (const std::string why = unquantized_reason(ckpt, layer); !why.empty()) {
        const TensorEntry& w = ckpt.get(layer + ".weight");
        const std::string format = cat("unquantized (", why, ")");
        std::printf("%-44s %-48s %-18s %7lld %7lld %-20s %s\n", layer.c_str(), format.c_str(), "-",
                    static_cast<long long>(w.shape[0]), static_cast<long long>(w.shape[1]), "-",
                    "-");
        continue;
      }
      try {
        const CheckpointLayer l = serve_on(load_layer(ckpt, layer), platform);
        std::string kernel;
        try {
          kernel = Registry::global().choose(l.config, platform).kernel->name();
        } catch (const Error&) {
          kernel = "none fits (qlinear select says why)";
        }
        std::printf("%-44s %-48s %-18s %7lld %7lld %-20s %s\n", layer.c_str(), l.format.c_str(),
                    std::string(name(l.config.family)).c_str(), static_cast<long long>(l.config.n),
                    static_cast<long long>(l.config.k), scales_text(l.config).c_str(),
                    kernel.c_str());
      } catch (const Error& e) {
        ++errors;
        std::printf("%-44s error: %s\n", layer.c_str(), e.what());
      }
    }
    exit_code = errors ? 1 : 0;
  });
}

}  // namespace qlinear::tool
