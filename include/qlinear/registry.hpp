// The registry: per-platform priority lists of kernels and the one selection loop for every
// family. The built-in lists live in src/core/kernel_list.cpp (one line per kernel, order =
// priority, reference last); kernels from outside the library join at run time.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "qlinear/kernel.hpp"

namespace qlinear {

struct ChooseOptions {
  std::string force;                  // a kernel name: choose it or fail with its reason
  std::vector<std::string> disabled;  // kernel names passed over
  // Also pass over the kernels named in QLINEAR_DISABLED_KERNELS (comma separated).
  bool use_environment = true;
};

struct Rejection {
  std::string kernel;
  std::string reason;
};

struct Choice {
  const Kernel* kernel = nullptr;
  // Every kernel of the family ahead of the chosen one, or all of them when none fits, each with
  // why it was passed over.
  std::vector<Rejection> rejected;
  std::string platform;  // the platform chosen for, e.g. "cuda:sm_90a"
};

enum class Placement : uint8_t {
  first,             // ahead of every kernel of the platform
  before_reference,  // ahead of the reference kernels, behind the built-in ones
  last,
};

class Registry {
 public:
  // The process-wide registry, holding the built-in kernels.
  static Registry& global();
  // An empty registry (tests).
  Registry() = default;

  // Adds `kernel` to the priority list of `platform`. Throws if a kernel of that name is
  // already registered for the platform.
  void register_kernel(std::shared_ptr<const Kernel> kernel, PlatformKind platform,
                       Placement placement = Placement::before_reference);
  // The same by names, as a plugin would: unknown platform or family names, or a family other
  // than the kernel's own, are errors that list what is known.
  void register_kernel(std::shared_ptr<const Kernel> kernel, std::string_view platform,
                       std::string_view family, Placement placement = Placement::before_reference);

  // The priority list of a platform kind (all families), in order.
  std::vector<const Kernel*> kernels(PlatformKind platform) const;
  // A kernel by name on any platform, or nullptr.
  const Kernel* find(std::string_view name) const;

  // The first kernel of the platform's list that implements `config`'s family, is not disabled,
  // runs on `platform` and can implement `config`. Throws qlinear::Error when none fits, listing
  // every kernel of the family with its reason; or when `options.force` names an unknown kernel
  // or one that cannot run the config.
  Choice choose(const LayerConfig& config, const Platform& platform,
                const ChooseOptions& options = {}) const;

 private:
  struct Entry {
    std::shared_ptr<const Kernel> kernel;
    PlatformKind platform;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // kept in priority order within each platform
};

// Formats a choice: the chosen kernel, then each rejection with its reason.
std::string describe(const Choice& choice);

}  // namespace qlinear
