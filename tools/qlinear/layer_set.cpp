#include "layer_set.hpp"

#include <algorithm>

#include "qlinear/bench.hpp"
#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::tool {
namespace {

// Families with a kernel other than the reference that runs on `platform`.
std::vector<Family> families_with_kernels(const Platform& platform) {
  std::vector<Family> families;
  for (Family f : all_families())
    for (const Kernel* k : Registry::global().kernels(platform.kind))
      if (k->family() == f && k->info().provider != Provider::reference && k->supported(platform)) {
        families.push_back(f);
        break;
      }
  return families;
}

}  // namespace

LayerSet layer_set(const ConfigFlags& flags, bool family_given, const std::string& preset,
                   const std::vector<std::string>& shapes, const std::vector<std::string>& kernels,
                   const Platform& platform) {
  const LayerConfig flagged = flags.config();  // --family and the config flags; also --n/--k
  std::vector<bench::Shape> layer_shapes;
  if (!preset.empty()) layer_shapes = bench::preset(preset);
  for (const std::string& s : shapes) layer_shapes.push_back(bench::parse_shape(s));
  if (layer_shapes.empty())
    layer_shapes.push_back({"", flagged.n, flagged.k, flagged.partition_n, flagged.partition_k});

  std::vector<Family> families;
  if (family_given) {
    families.push_back(flagged.family);
  } else if (!kernels.empty() && kernels.front() != "all") {
    for (const std::string& k : kernels) {
      const Kernel* kernel = Registry::global().find(k);
      require(kernel != nullptr, "--kernel '", k, "' is not registered; see `qlinear kernels`");
      if (std::find(families.begin(), families.end(), kernel->family()) == families.end())
        families.push_back(kernel->family());
    }
  } else {
    families = families_with_kernels(platform);
  }

  LayerSet set;
  for (Family f : families)
    for (const bench::Shape& s : layer_shapes) {
      LayerConfig c = family_given ? flagged : default_config(f, s.n, s.k);
      c.n = s.n, c.k = s.k, c.partition_n = s.partition_n, c.partition_k = s.partition_k;
      try {
        validate(c);
        set.configs.push_back(c);
      } catch (const Error& e) {
        set.skipped.push_back(cat(s.name.empty() ? "" : s.name + ": ", e.what()));
      }
    }
  return set;
}

}  // namespace qlinear::tool
