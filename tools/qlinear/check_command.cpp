// `qlinear check`: every kernel that runs on the device against the reference, on random layers
// of every config it implements, including shapes off any tile grid.
#include <cstdio>

#include "commands.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::tool {

void add_check(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("check", "test every kernel that runs here against the reference");
  static std::string device_text = "default", family_filter, kernel_filter;
  static uint64_t seed = 1;
  static std::vector<int64_t> m_values;
  command->add_option("--device", device_text, "cpu, cuda, cuda:N or default (the GPU if there is one)");
  command->add_option("--family", family_filter, "only this family");
  command->add_option("--kernel", kernel_filter, "only this kernel");
  command->add_option("--seed", seed, "random seed of the layers");
  command->add_option("--m", m_values, "M values (default 1, 7, 67)");
  command->callback([&exit_code] {
    const Platform platform = target_platform(device_text);
    const Device device = platform.device();
    if (m_values.empty()) m_values = conformance_m_values();
    std::printf("checking on %s (%s)\n", device.str().c_str(), platform.str().c_str());
    std::printf("%-36s %-18s %-62s %5s %10s %10s %s\n", "kernel", "family", "config", "M",
                "max_err", "tolerance", "result");
    int checked = 0, failed = 0, skipped = 0;
    for (const Kernel* kernel : Registry::global().kernels(platform.kind)) {
      if (!kernel_filter.empty() && kernel->name() != kernel_filter) continue;
      if (!family_filter.empty() && name(kernel->family()) != family_filter) continue;
      if (Verdict v = kernel->supported(platform); !v) {
        std::printf("%-36s skipped: %s\n", kernel->name().c_str(), v.reason().c_str());
        ++skipped;
        continue;
      }
      for (const LayerConfig& config : conformance_configs(kernel->family())) {
        if (Verdict v = kernel->can_implement(config); !v) {
          std::printf("%-36s %-18s %-62s %5s %s\n", kernel->name().c_str(),
                      std::string(name(config.family)).c_str(), config.describe().c_str(), "-",
                      cat("not implemented: ", v.reason()).c_str());
          continue;
        }
        for (int64_t m : m_values) {
          ConformanceResult r;
          try {
            r = run_against_reference(*kernel, {config, m, seed}, device);
          } catch (const Error& e) {
            r.pass = false;
            r.detail = e.what();
          }
          ++checked;
          failed += !r.pass;
          std::printf("%-36s %-18s %-62s %5lld %10.3g %10.3g %s\n", kernel->name().c_str(),
                      std::string(name(config.family)).c_str(), config.describe().c_str(),
                      static_cast<long long>(m), r.max_error, r.tolerance,
                      r.pass ? "pass" : cat("FAIL ", r.detail).c_str());
        }
      }
    }
    std::printf("%d passed, %d failed", checked - failed, failed);
    if (skipped) std::printf(" (%d kernels do not run on %s)", skipped, platform.str().c_str());
    std::printf("\n");
    exit_code = failed ? 1 : 0;
  });
}

}  // namespace qlinear::tool
