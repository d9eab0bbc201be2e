// The registry: per-platform priority lists of kernels and the one selection loop for every
// family. The built-in lists live in src/core/kernel_list.cpp (one line per kernel, order =
// priority, reference last); kernels from outside the library join at run time.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qlinear/kernel.hpp"
#include "qlinear/tuning.hpp"

namespace qlinear {

struct ChooseOptions {
  std::string force;                  // a kernel name: choose it or fail with its reason
  std::vector<std::string> disabled;  // kernel names passed over
  // Providers to choose from, most preferred first (QLINEAR_PROVIDERS=cublaslt,cuda adds to them):
  // kernels of other providers, and such parts of composites, are passed over, a composite ranking
  // as its least preferred part; a layer none of them can run falls back to the priority list,
  // and the choice notes it. Empty: the priority list.
  std::vector<Provider> providers;
  // Also pass over the kernels named in QLINEAR_DISABLED_KERNELS (comma separated), read the
  // tuning table QLINEAR_TUNING names (a file from `qlinear tune`), and note serving as
  // QLINEAR_NVFP4_AS_FP8_BLOCK says (serving_config).
  bool use_environment = true;
  // Measured plans (qlinear/tuning.hpp), asked before the priority list: these tables first, then
  // QLINEAR_TUNING's, then the ones shipped with the library (with use_shipped_tuning). The first
  // table measured on this device that has the config decides, unless a kernel is forced.
  std::vector<std::shared_ptr<const TuningTable>> tuning;
  bool use_shipped_tuning = true;
};

struct Rejection {
  std::string kernel;
  std::string reason;
};

struct Choice {
  // The kernel chosen: one kernel, or a composite (qlinear/composite.hpp) of kernels by token
  // count.
  const Kernel* kernel = nullptr;
  // Every kernel of the family ahead of the chosen one, or all of them when none fits, each with
  // why it was passed over; and the parts removed from the chosen composite, each with why.
  std::vector<Rejection> rejected;
  std::string platform;  // the platform chosen for, e.g. "cuda:sm_90a"
  // A composite with parts removed (disabled), or a tuning table's plan, exists for this choice
  // only: it is kept here.
  std::shared_ptr<const Kernel> owned;
  // Where the choice came from when not the priority list (a tuning table), and tables that were
  // not used, with why.
  std::vector<std::string> notes;

  // The kernel that runs calls of m tokens: the chosen one, or the composite's part for m.
  const Kernel& kernel_for(int64_t m) const;
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
  // A kernel of the platform's list by name, or null.
  std::shared_ptr<const Kernel> find(std::string_view name, PlatformKind platform) const;
  // A kernel by name on any platform, or nullptr.
  const Kernel* find(std::string_view name) const;

  // The first kernel of the platform's list that implements `config`'s family, is not disabled,
  // runs on `platform` and can implement `config`. A composite loses its disabled parts (their
  // calls go to the next part up, each removal listed in `rejected`; one part left is chosen
  // alone) and must then run and implement the config with every part left. Throws qlinear::Error
  // when none fits, listing every kernel of the family with its reason; or when `options.force`
  // names an unknown kernel or one that cannot run the config.
  Choice choose(const LayerConfig& config, const Platform& platform,
                const ChooseOptions& options = {}) const;

 private:
  struct Entry {
    std::shared_ptr<const Kernel> kernel;
    PlatformKind platform;
  };
  // The first tuning table's plan for `config` on `platform` (ChooseOptions::tuning): true with
  // `choice` filled in, or false with the tables that could not be used noted in it.
  bool choose_tuned(const LayerConfig& config, const Platform& platform,
                    const ChooseOptions& options,
                    const std::function<bool(const Kernel&)>& is_disabled, Choice& choice) const;

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // kept in priority order within each platform
};

// Every kernel qlinear has, built into this library or not, in one table
// (src/core/kernel_list.cpp): the built-in lists hold exactly the built ones; `qlinear kernels`
// lists the others with the build condition they lack.
struct CatalogEntry {
  const char* name;
  Family family;
  PlatformKind platform;
  Provider provider;
  const char* needs;  // the build condition
  bool built;         // in this build
};
std::span<const CatalogEntry> kernel_catalog();

// How a checkpoint's layer is served on a platform. A family whose activations are multiplied in a
// format the platform has no arithmetic for runs as the weight-only family that reads the same
// weights: an fp8_scaled_mm layer on a GPU without FP8 tensor cores (below sm_89) or on any CPU
// is served as fp8_weight_only, as vLLM serves FP8 checkpoints there (W8A16): the same e4m3
// weights and scales, the activations kept in 16 bits (more exact than the checkpoint asks), a
// static input scale unused.
//
// An NVFP4 (W4A4) layer on a GPU with FP8 tensor cores and no FP4 ones (sm_89 .. sm_9x: Ada,
// Hopper) is served as fp8_block, as vLLM serves NVFP4 on Hopper (+62 % output tokens/s on H200
// over weight-only NVFP4): its weights re-encoded at load as 128 x 128-block e4m3
// (checkpoint::nvfp4_as_fp8_block: exact where a block's values fit e4m3, else within
// max(2^-4 |w|, 2^-10 · block scale) of each weight), its activations quantized per 1 x 128 to
// e4m3, whose error bound is tighter than that of the checkpoint's e2m1 per 16: at most 2^-4 of
// |x| down to 2^-6 / 448 of the 128's largest, where e2m1 errs by up to 1/4 of |x| and rounds
// what is below 1/24 of the 16's largest to 0. An nvfp4_weight_only (W4A16) layer is left as it
// is unless opted in (QLINEAR_NVFP4_AS_FP8_BLOCK=all): as fp8_block its 16-bit activations would
// be rounded to e4m3, an error of up to 2^-4 that its checkpoint does not make.
// `reason` says why, and states the accuracy rule; it is empty when the config is served as it is.
struct Serving {
  LayerConfig config;
  std::string reason;
};
// Which NVFP4 layers are served as fp8_block where the platform has FP8 tensor cores and no FP4
// ones: none (off), the W4A4 family nvfp4 (w4a4, the default), or nvfp4_weight_only too (all).
enum class Nvfp4AsFp8Block : uint8_t { off, w4a4, all };
struct ServingOptions {
  Nvfp4AsFp8Block nvfp4_as_fp8_block = Nvfp4AsFp8Block::w4a4;
  // QLINEAR_NVFP4_AS_FP8_BLOCK=off|w4a4|all, or the defaults when it is unset or empty; throws
  // qlinear::Error naming the accepted values otherwise.
  static ServingOptions from_environment();
};
Serving serving_config(const LayerConfig& config, const Platform& platform,
                       const ServingOptions& options = ServingOptions::from_environment());
// The fp8_block config an NVFP4 layer (nvfp4 or nvfp4_weight_only) is served as: the same shape,
// partitions, activation and output types and bias (checkpoint::nvfp4_as_fp8_block's weights).
LayerConfig fp8_block_config_for_nvfp4(const LayerConfig& nvfp4);

// Formats a choice: the chosen kernel (a composite with each part's token range), then each
// rejection with its reason.
std::string describe(const Choice& choice);

}  // namespace qlinear
