// The layers a `bench` or `tune` run times, from the flags both take.
#pragma once

#include <string>
#include <vector>

#include "config_flags.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::tool {

struct LayerSet {
  std::vector<LayerConfig> configs;
  std::vector<std::string> skipped;  // layers whose config is invalid, with why
};

// The shapes of `preset` and `shapes` ("NxK"), else the flags' --n x --k; for the config of the
// flags when `family_given`, else for the default config of each family of the named `kernels`,
// else of every family with a kernel other than the reference on `platform`.
LayerSet layer_set(const ConfigFlags& flags, bool family_given, const std::string& preset,
                   const std::vector<std::string>& shapes, const std::vector<std::string>& kernels,
                   const Platform& platform);

}  // namespace qlinear::tool
