// `qlinear kernels`: every registered kernel, and whether it runs here (with the reason if not);
// then the kernels this build left out, with the build condition each lacks.
#include <cstdio>

#include "commands.hpp"
#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::tool {
namespace {

// Whether a kernel registered for `kind` runs on this machine, and if not, why.
std::string runs_here(const Kernel& kernel, PlatformKind kind) {
  if (kind == PlatformKind::cpu) {
    const Verdict v = kernel.supported(host_platform());
    return v ? "yes" : cat("no: ", v.reason());
  }
  if (kind == PlatformKind::cuda) {
    const auto gpus = cuda_platforms();
    if (gpus.empty()) return "no: no CUDA device here";
    std::string answer;
    for (const Platform& g : gpus) {
      const Verdict v = kernel.supported(g);
      answer += cat(answer.empty() ? "" : "; ", "cuda:", g.device_index, " ",
                    v ? "yes" : cat("no: ", v.reason()));
    }
    return answer;
  }
  return cat("no: no ", name(kind), " device here");
}

}  // namespace

void add_kernels(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("kernels", "every kernel, whether it runs here, and why not");
  static std::string family_filter;
  command->add_option("--family", family_filter, "only kernels of this family");
  command->callback([&exit_code] {
    if (!family_filter.empty())
      require(parse_family(family_filter).has_value(), "--family '", family_filter,
              "': unknown family");
    std::printf("%-40s %-10s %-18s %-6s %s\n", "kernel", "provider", "family", "list", "runs here");
    for (int p = 0; p < kPlatformKindCount; ++p) {
      const auto kind = static_cast<PlatformKind>(p);
      for (const Kernel* k : Registry::global().kernels(kind)) {
        if (!family_filter.empty() && name(k->family()) != family_filter) continue;
        std::printf("%-40s %-10s %-18s %-6s %s\n", k->name().c_str(),
                    std::string(name(k->info().provider)).c_str(),
                    std::string(name(k->family())).c_str(), std::string(name(kind)).c_str(),
                    runs_here(*k, kind).c_str());
      }
    }
    for (const CatalogEntry& e : kernel_catalog()) {
      if (e.built || (!family_filter.empty() && name(e.family) != family_filter)) continue;
      std::printf("%-40s %-10s %-18s %-6s no: not built in this build (needs %s)\n", e.name,
                  std::string(name(e.provider)).c_str(), std::string(name(e.family)).c_str(),
                  std::string(name(e.platform)).c_str(), e.needs);
    }
    exit_code = 0;
  });
}

}  // namespace qlinear::tool
