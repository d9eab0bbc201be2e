// `qlinear select`: the kernel chosen for a config on this machine or a named target, and why
// every kernel ahead of it was passed over.
#include <cstdio>

#include "commands.hpp"
#include "config_flags.hpp"
#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::tool {

Platform target_platform(const std::string& target) {
  if (target.empty() || target == "default")
    return cuda_platforms().empty() ? host_platform() : cuda_platforms()[0];
  if (target == "cpu" || target == "cuda" ||
      (target.starts_with("cuda:") && !target.starts_with("cuda:sm_")))
    return platform_of(Device::parse(target));
  return parse_target(target);
}

void add_select(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("select", "choose a kernel for a layer config and say why");
  static ConfigFlags flags;
  static std::string target, force;
  static std::vector<std::string> disabled;
  flags.add_to(*command);
  command->add_option("--target", target,
                      "cpu, cpu:avx2, cuda:0, cuda:sm_80, cuda:sm_90a, rocm:gfx942, ... (default: this machine's default device)");
  command->add_option("--kernel", force, "force this kernel");
  command->add_option("--disable", disabled, "pass over these kernels (also QLINEAR_DISABLED_KERNELS)");
  command->callback([&exit_code] {
    const LayerConfig config = flags.config();
    const Platform platform = target_platform(target);
    std::printf("layer:  %s\ntarget: %s%s\n", config.describe().c_str(), platform.str().c_str(),
                platform.detected ? " (this machine)" : " (named)");
    ChooseOptions options;
    options.force = force;
    options.disabled = disabled;
    const Choice choice = Registry::global().choose(config, platform, options);
    std::printf("%s\n", describe(choice).c_str());
    exit_code = 0;
  });
}

}  // namespace qlinear::tool
