// The one selection loop, for every family and platform.
#include "qlinear/registry.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "core/kernel_list.hpp"
#include "qlinear/composite.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

std::vector<std::string> split_names(std::string_view text) {
  std::vector<std::string> names;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) names.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return names;
}

std::string known_names(auto all, auto name_of) {
  std::string text;
  for (const auto& item : all) text += cat(text.empty() ? "" : ", ", name_of(item));
  return text;
}

// A table selection asks; `shipped` ones measured on other devices pass silently.
struct TableToAsk {
  std::shared_ptr<const TuningTable> table;
  bool shipped = false;
};

// The table at `path` (QLINEAR_TUNING), or null with why it cannot be used in `error`. Selection
// runs once a layer: the file is read again only when its path, size or time of change differ
// from the last read.
std::shared_ptr<const TuningTable> environment_table(const std::string& path, std::string& error) {
  struct Read {
    std::string path;
    off_t size = -1;
    timespec changed{};
    std::shared_ptr<const TuningTable> table;
    std::string error;
  };
  static std::mutex mutex;
  static Read last;
  struct stat st {};
  const bool known = ::stat(path.c_str(), &st) == 0;
  std::lock_guard lock(mutex);
  const bool same = known && last.path == path && last.size == st.st_size &&
                    last.changed.tv_sec == st.st_mtim.tv_sec &&
                    last.changed.tv_nsec == st.st_mtim.tv_nsec;
  if (!same) {
    last = Read{path, known ? st.st_size : -1, known ? st.st_mtim : timespec{}, nullptr, ""};
    try {
      last.table = TuningTable::load(path);
    } catch (const Error& e) {
      last.error = e.what();
    }
    if (!known) last.path.clear();  // a file that is not there yet is looked for again
  }
  error = last.error;
  return last.table;
}

// The tables selection asks, in order (ChooseOptions::tuning); QLINEAR_TUNING's that cannot be
// read is noted in the choice and skipped.
std::vector<TableToAsk> tables_to_ask(const ChooseOptions& options,
                                      std::vector<std::string>& notes) {
  std::vector<TableToAsk> tables;
  for (const auto& t : options.tuning) tables.push_back({t, false});
  if (options.use_environment)
    if (const char* path = std::getenv("QLINEAR_TUNING"); path != nullptr && *path != '\0') {
      std::string error;
      if (auto table = environment_table(path, error))
        tables.push_back({std::move(table), false});
      else
        notes.push_back(cat(error, " (QLINEAR_TUNING): ignored"));
    }
  if (options.use_shipped_tuning)
    for (const auto& t : shipped_tuning_tables()) tables.push_back({t, true});
  return tables;
}

constexpr std::string_view kDisabled = "disabled (QLINEAR_DISABLED_KERNELS or options)";

}  // namespace

Registry& Registry::global() {
  static Registry* registry = [] {
    auto* r = new Registry;  // never destroyed: kernels may be looked up during static teardown
    for (const auto& [platform, kernel] : detail::built_in_kernels())
      r->register_kernel(kernel, platform, Placement::last);
    return r;
  }();
  return *registry;
}

void Registry::register_kernel(std::shared_ptr<const Kernel> kernel, PlatformKind platform,
                               Placement placement) {
  require(kernel != nullptr, "register_kernel: kernel is null");
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_)
    require(!(e.platform == platform && e.kernel->name() == kernel->name()), "register_kernel: '",
            kernel->name(), "' is already registered for ", name(platform));
  auto position = entries_.end();
  if (placement == Placement::first) {
    position = std::find_if(entries_.begin(), entries_.end(),
                            [&](const Entry& e) { return e.platform == platform; });
  } else if (placement == Placement::before_reference) {
    position = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
      return e.platform == platform && e.kernel->info().provider == Provider::reference;
    });
  }
  entries_.insert(position, Entry{std::move(kernel), platform});
}

void Registry::register_kernel(std::shared_ptr<const Kernel> kernel, std::string_view platform,
                               std::string_view family, Placement placement) {
  require(kernel != nullptr, "register_kernel: kernel is null");
  const auto kind = parse_platform_kind(platform);
  require(kind.has_value(), "register_kernel '", kernel->name(), "': unknown platform '", platform,
          "'; known: cpu, cuda, rocm, xpu");
  const auto fam = parse_family(family);
  require(fam.has_value(), "register_kernel '", kernel->name(), "': unknown family '", family,
          "'; known: ", known_names(all_families(), [](Family f) { return name(f); }));
  require(*fam == kernel->family(), "register_kernel '", kernel->name(),
          "': registered for family ", family, " but implements ", name(kernel->family()));
  register_kernel(std::move(kernel), *kind, placement);
}

std::vector<const Kernel*> Registry::kernels(PlatformKind platform) const {
  std::lock_guard lock(mutex_);
  std::vector<const Kernel*> list;
  for (const auto& e : entries_)
    if (e.platform == platform) list.push_back(e.kernel.get());
  return list;
}

std::shared_ptr<const Kernel> Registry::find(std::string_view name, PlatformKind platform) const {
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_)
    if (e.platform == platform && e.kernel->name() == name) return e.kernel;
  return nullptr;
}

const Kernel* Registry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_)
    if (e.kernel->name() == name) return e.kernel.get();
  return nullptr;
}

Choice Registry::choose(const LayerConfig& config, const Platform& platform,
                        const ChooseOptions& options) const {
  validate(config);
  std::vector<std::string> disabled = options.disabled;
  if (options.use_environment)
    if (const char* env = std::getenv("QLINEAR_DISABLED_KERNELS"))
      for (auto& n : split_names(env)) disabled.push_back(std::move(n));

  if (!options.force.empty()) {
    const Kernel* forced = find(options.force);
    require(forced != nullptr, "forced kernel '", options.force,
            "' is not registered; see `qlinear kernels`");
    require(forced->family() == config.family, "forced kernel '", options.force, "' implements ",
            name(forced->family()), ", not ", name(config.family));
  }

  const auto is_disabled = [&](const Kernel& k) {
    return std::find(disabled.begin(), disabled.end(), k.name()) != disabled.end();
  };
  Choice choice;
  choice.platform = platform.str();
  std::vector<Provider> preferred = options.providers;
  if (options.use_environment)
    if (const char* env = std::getenv("QLINEAR_PROVIDERS"))
      for (const std::string& n : split_names(env)) {
        const auto p = parse_provider(n);
        require(p.has_value(), "QLINEAR_PROVIDERS: unknown provider '", n,
                "'; known: ", known_names(all_providers(), [](Provider x) { return name(x); }));
        preferred.push_back(*p);
      }
  // A tuning table measured every kernel; with providers preferred, the lists decide.
  if (options.force.empty() && preferred.empty() &&
      choose_tuned(config, platform, options, is_disabled, choice))
    return choice;
  // Why a kernel (or a composite's part) is left out of a pass: disabled, or, in the pass over the
  // preferred providers, of another provider.
  const auto excluded = [&](const Kernel& k, bool preferred_only) -> std::string {
    if (is_disabled(k)) return std::string(kDisabled);
    const Provider p = k.info().provider;
    if (preferred_only && p != Provider::composite &&
        std::find(preferred.begin(), preferred.end(), p) == preferred.end())
      return cat("provider ", name(p), " is not preferred (QLINEAR_PROVIDERS or options: ",
                 known_names(preferred, [](Provider x) { return name(x); }), ")");
    return "";
  };
  // A pass over the family's kernels: in list order, or by provider preference (the rank of a
  // composite is that of its least preferred part left).
  const auto pass = [&](bool preferred_only) {
    std::vector<Rejection> rejected;
    std::vector<std::pair<size_t, const Kernel*>> order;
    for (const Kernel* kernel : kernels(platform.kind))
      if (kernel->family() == config.family) order.emplace_back(0, kernel);
    if (preferred_only) {
      const auto rank_of = [&](const Kernel& k) {
        return static_cast<size_t>(
            std::find(preferred.begin(), preferred.end(), k.info().provider) - preferred.begin());
      };
      for (auto& [rank, kernel] : order)
        if (const auto* plan = dynamic_cast<const CompositeKernel*>(kernel)) {
          for (const PlanPart& part : plan->parts())
            if (excluded(*part.kernel, true).empty()) rank = std::max(rank, rank_of(*part.kernel));
        } else {
          rank = rank_of(*kernel);
        }
      std::stable_sort(order.begin(), order.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    for (const auto& [rank, kernel] : order) {
      const auto reject = [&](std::string reason) {
        rejected.push_back({kernel->name(), std::move(reason)});
      };
      if (!options.force.empty() && kernel->name() != options.force) {
        reject(cat("not the forced kernel (", options.force, ")"));
        continue;
      }
      if (std::string why = excluded(*kernel, preferred_only); !why.empty()) {
        reject(std::move(why));
        continue;
      }
      const Kernel* candidate = kernel;
      std::shared_ptr<const Kernel> reduced;
      std::vector<Rejection> removed;
      if (const auto* plan = dynamic_cast<const CompositeKernel*>(kernel)) {
        auto kept = plan->keeping([&](const Kernel& part) {
          std::string why = excluded(part, preferred_only);
          if (why.empty()) return true;
          removed.push_back({part.name(), cat(why, ": removed from ", plan->name(),
                                              ", its calls go to the next part")});
          return false;
        });
        if (!kept) {
          reject("every part is disabled or of a provider not preferred");
          continue;
        }
        if (!removed.empty()) {
          candidate = kept->parts().size() == 1 ? kept->parts().front().kernel.get() : kept.get();
          reduced = std::move(kept);
        }
      }
      if (Verdict v = candidate->supported(platform); !v) {
        reject(cat("does not run on ", platform.str(), ": ", v.reason()));
        continue;
      }
      if (Verdict v = candidate->can_implement(config); !v) {
        reject(v.reason());
        continue;
      }
      choice.kernel = candidate;
      choice.owned = std::move(reduced);
      for (auto& r : removed) rejected.push_back(std::move(r));
      break;
    }
    choice.rejected = std::move(rejected);
    return choice.kernel != nullptr;
  };
  if (!preferred.empty() && options.force.empty()) {
    if (pass(true)) return choice;
    choice.notes.push_back(cat("no kernel of the preferred providers (",
                               known_names(preferred, [](Provider x) { return name(x); }),
                               ") can run this layer: the priority list decides"));
  }
  // Where a checkpoint's layer of this config is served as another family, the choice (or the
  // error) says so, with why.
  const Serving serving = serving_config(
      config, platform,
      options.use_environment ? ServingOptions::from_environment() : ServingOptions{});
  const std::string serving_note =
      serving.reason.empty()
          ? ""
          : cat(serving.reason, ": a checkpoint's layer loads as ", serving.config.describe());
  if (pass(false)) {
    if (!serving_note.empty()) choice.notes.push_back(serving_note);
    return choice;
  }
  std::string message =
      cat("no kernel can run ", config.describe(), " on ", platform.str(),
          choice.rejected.empty() ? " (no kernel of this family is registered for it)" : ":");
  for (const auto& r : choice.rejected) message += cat("\n  ", r.kernel, ": ", r.reason);
  if (!serving_note.empty()) message += cat("\n  note: ", serving_note);
  throw Error(message);
}

bool Registry::choose_tuned(const LayerConfig& config, const Platform& platform,
                            const ChooseOptions& options,
                            const std::function<bool(const Kernel&)>& is_disabled,
                            Choice& choice) const {
  const TunedDevice here = tuned_device(platform);
  for (const auto& [table_ptr, shipped] : tables_to_ask(options, choice.notes)) {
    const TuningTable& table = *table_ptr;
    if (table.device() != here) {
      if (!shipped)
        choice.notes.push_back(cat("tuning table ", table.source(), ": measured on ",
                                   describe(table.device()), ", not on this device (",
                                   describe(here), "): ignored"));
      continue;
    }
    const TunedEntry* entry = table.find(config);
    if (entry == nullptr) continue;
    // The plan as measured, less its disabled kernels; any other problem voids the entry.
    std::vector<PlanPart> parts;
    std::vector<Rejection> removed;
    std::string problem;
    for (size_t i = 0; i < entry->plan.size() && problem.empty(); ++i) {
      const TunedPart& part = entry->plan[i];
      const auto kernel = find(part.kernel, platform.kind);
      const int64_t max_m = i + 1 == entry->plan.size() ? kNoTokenLimit : part.max_m;
      if (kernel == nullptr)
        problem = cat("names kernel ", part.kernel, ", which is not registered for ",
                      name(platform.kind));
      else if (kernel->family() != config.family)
        problem = cat("names kernel ", part.kernel, ", which implements ", name(kernel->family()),
                      ", not ", name(config.family));
      else if (is_disabled(*kernel))
        removed.push_back(
            {part.kernel,
             cat(kDisabled, ": removed from the tuned plan, its calls go to the next part")});
      else if (Verdict v = kernel->supported(platform); !v)
        problem =
            cat("kernel ", part.kernel, " does not run on ", platform.str(), ": ", v.reason());
      else if (Verdict v = kernel->can_implement(config); !v)
        problem =
            cat("kernel ", part.kernel, " cannot implement ", config.describe(), ": ", v.reason());
      else
        parts.push_back({kernel, max_m});
    }
    if (problem.empty() && parts.empty()) problem = "every kernel of its plan is disabled";
    if (!problem.empty()) {
      choice.notes.push_back(cat("tuning table ", table.source(), ": the entry for this layer ",
                                 problem, ": ignored; the priority list decides"));
      continue;
    }
    parts.back().max_m = kNoTokenLimit;
    if (parts.size() == 1) {
      choice.kernel = parts.front().kernel.get();
    } else {
      std::shared_ptr<CompositeKernel> plan;
      try {
        plan = std::make_shared<CompositeKernel>(cat("tuned_", name(config.family)), parts);
      } catch (const Error& e) {  // a plan no hand-edit of the table should make a crash of
        choice.notes.push_back(cat("tuning table ", table.source(), ": the entry for this layer: ",
                                   e.what(), ": ignored; the priority list decides"));
        continue;
      }
      choice.kernel = plan.get();
      choice.owned = std::move(plan);
    }
    choice.rejected = std::move(removed);
    choice.notes.push_back(cat("the plan measured by tuning table ", table.source(),
                               table.note().empty() ? "" : cat(" (", table.note(), ")")));
    return true;
  }
  return false;
}

ServingOptions ServingOptions::from_environment() {
  ServingOptions options;
  const char* env = std::getenv("QLINEAR_NVFP4_AS_FP8_BLOCK");
  if (env == nullptr || *env == '\0') return options;
  const std::string_view value = env;
  if (value == "off")
    options.nvfp4_as_fp8_block = Nvfp4AsFp8Block::off;
  else if (value == "w4a4")
    options.nvfp4_as_fp8_block = Nvfp4AsFp8Block::w4a4;
  else if (value == "all")
    options.nvfp4_as_fp8_block = Nvfp4AsFp8Block::all;
  else
    throw Error(cat("QLINEAR_NVFP4_AS_FP8_BLOCK is '", value,
                    "'; accepted: off (NVFP4 layers as loaded), w4a4 (nvfp4 layers as fp8_block "
                    "where FP8 tensor cores have no FP4 ones; the default), all (nvfp4_weight_only "
                    "too)"));
  return options;
}

namespace {

// fp8_scaled_mm without FP8 arithmetic: the same weights, x kept in 16 bits.
Serving serve_fp8_scaled_mm(const LayerConfig& config, const Platform& platform) {
  Serving serving{config, ""};
  const bool fp8_arithmetic = platform.kind == PlatformKind::cuda
                                  ? platform.compute_capability >= 89
                                  : platform.kind != PlatformKind::cpu;  // rocm, xpu: not judged
  if (fp8_arithmetic) return serving;
  LayerConfig& c = serving.config;
  c.family = Family::fp8_weight_only;
  c.act_quant.reset();
  c.act_scale = Granularity::per_token;
  c.act_scale_static = false;
  serving.reason = cat(platform.str(), " has no FP8 ",
                       platform.kind == PlatformKind::cpu ? "arithmetic" : "tensor cores",
                       ", so fp8_scaled_mm is served as fp8_weight_only (W8A16: e4m3 weights, ",
                       name(config.act_type), " activations)");
  return serving;
}

// NVFP4 with FP8 tensor cores and no FP4 ones (sm_89 .. sm_9x; sm_100 and later multiply e2m1):
// the weights re-encoded as 128 x 128-block e4m3 (checkpoint::nvfp4_as_fp8_block, whose config
// this is), x quantized per 1 x 128 to e4m3. ROCm and XPU are not judged.
Serving serve_nvfp4(const LayerConfig& config, const Platform& platform,
                    const ServingOptions& options) {
  Serving serving{config, ""};
  const bool weight_only = config.family == Family::nvfp4_weight_only;
  if (options.nvfp4_as_fp8_block == Nvfp4AsFp8Block::off ||
      (weight_only && options.nvfp4_as_fp8_block != Nvfp4AsFp8Block::all))
    return serving;
  if (platform.kind != PlatformKind::cuda || platform.compute_capability < 89 ||
      platform.compute_capability >= 100)
    return serving;
  serving.config = fp8_block_config_for_nvfp4(config);
  serving.reason =
      cat(platform.str(), " has FP8 tensor cores and no FP4 ones, so ", name(config.family),
          " is served as fp8_block: the weights re-encoded as 128x128-block e4m3, exact where a "
          "block's values fit e4m3, else within max(2^-4 |w|, 2^-10 * block scale) of each NVFP4 "
          "weight; the ",
          name(config.act_type), " activations quantized per 1x128 to e4m3, ",
          weight_only ? "which the W4A16 checkpoint leaves in 16 bits (opted in by "
                        "QLINEAR_NVFP4_AS_FP8_BLOCK=all)"
                      : "finer than the checkpoint's e2m1 per 16 (QLINEAR_NVFP4_AS_FP8_BLOCK=off "
                        "keeps nvfp4)");
  return serving;
}

}  // namespace

LayerConfig fp8_block_config_for_nvfp4(const LayerConfig& nvfp4) {
  LayerConfig c = default_config(Family::fp8_block, nvfp4.n, nvfp4.k);
  c.partition_n = nvfp4.partition_n, c.partition_k = nvfp4.partition_k;
  c.act_type = nvfp4.act_type, c.out_type = nvfp4.out_type, c.bias = nvfp4.bias;
  return c;
}

Serving serving_config(const LayerConfig& config, const Platform& platform,
                       const ServingOptions& options) {
  switch (config.family) {
    case Family::fp8_scaled_mm:
      return serve_fp8_scaled_mm(config, platform);
    case Family::nvfp4:
    case Family::nvfp4_weight_only:
      return serve_nvfp4(config, platform, options);
    default:
      return {config, ""};
  }
}

const Kernel& Choice::kernel_for(int64_t m) const {
  require(kernel != nullptr, "Choice::kernel_for: no kernel was chosen");
  if (const auto* plan = dynamic_cast<const CompositeKernel*>(kernel)) return plan->part_for(m);
  return *kernel;
}

std::string describe(const Choice& choice) {
  std::string text =
      cat("chosen: ", choice.kernel ? choice.kernel->name() : "(none)", " on ", choice.platform);
  if (const auto* plan = dynamic_cast<const CompositeKernel*>(choice.kernel))
    text += cat(", by tokens:\n", describe_plan(*plan, "    "));
  for (const auto& r : choice.rejected) text += cat("\n  passed over ", r.kernel, ": ", r.reason);
  for (const auto& n : choice.notes) text += cat("\n  note: ", n);
  return text;
}

}  // namespace qlinear
