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
  static std::vector<int64_t> m_values;
  static std::vector<std::string> providers;
  flags.add_to(*command);
  command->add_option("--target", target,
                      "cpu, cpu:avx2, cuda:0, cuda:sm_80, cuda:sm_90a, rocm:gfx942, ... (default: "
                      "this machine's default device)");
  command->add_option("--kernel", force, "force this kernel");
  command->add_option("--disable", disabled,
                      "pass over these kernels (also QLINEAR_DISABLED_KERNELS)");
  command->add_option("--provider", providers,
                      "choose from these providers, most preferred first (also QLINEAR_PROVIDERS)");
  command->add_option("--m", m_values, "also say which kernel runs calls of M tokens (M >= 1)");
  command->callback([&exit_code] {
    const LayerConfig config = flags.config();
    const Platform platform = target_platform(target);
    std::printf("layer:  %s\ntarget: %s%s\n", config.describe().c_str(), platform.str().c_str(),
                platform.detected ? " (this machine)" : " (named)");
    ChooseOptions options;
    options.force = force;
    options.disabled = disabled;
    for (const std::string& p : providers) {
      const auto provider = parse_provider(p);
      require(provider.has_value(), "--provider '", p, "': unknown provider");
      options.providers.push_back(*provider);
    }
    const Choice choice = Registry::global().choose(config, platform, options);
    std::printf("%s\n", describe(choice).c_str());
    for (int64_t m : m_values) {
      require(m >= 1, "--m ", m, ": expected a token count of at least 1");
      std::printf("M = %lld runs %s\n", static_cast<long long>(m),
                  choice.kernel_for(m).name().c_str());
    }
    exit_code = 0;
  });
}

}  // namespace qlinear::tool
