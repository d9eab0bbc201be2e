// The one selection loop, for every family and platform.
#include "qlinear/registry.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/kernel_list.hpp"
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
  require(*fam == kernel->family(), "register_kernel '", kernel->name(), "': registered for family ",
          family, " but implements ", name(kernel->family()));
  register_kernel(std::move(kernel), *kind, placement);
}

std::vector<const Kernel*> Registry::kernels(PlatformKind platform) const {
  std::lock_guard lock(mutex_);
  std::vector<const Kernel*> list;
  for (const auto& e : entries_)
    if (e.platform == platform) list.push_back(e.kernel.get());
  return list;
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
    require(forced->family() == config.family, "forced kernel '", options.force,
            "' implements ", name(forced->family()), ", not ", name(config.family));
  }

  Choice choice;
  choice.platform = platform.str();
  for (const Kernel* kernel : kernels(platform.kind)) {
    if (kernel->family() != config.family) continue;
    const auto reject = [&](std::string reason) {
      choice.rejected.push_back({kernel->name(), std::move(reason)});
    };
    if (!options.force.empty() && kernel->name() != options.force) {
      reject(cat("not the forced kernel (", options.force, ")"));
      continue;
    }
    if (std::find(disabled.begin(), disabled.end(), kernel->name()) != disabled.end()) {
      reject("disabled (QLINEAR_DISABLED_KERNELS or options)");
      continue;
    }
    if (Verdict v = kernel->supported(platform); !v) {
      reject(cat("does not run on ", platform.str(), ": ", v.reason()));
      continue;
    }
    if (Verdict v = kernel->can_implement(config); !v) {
      reject(v.reason());
      continue;
    }
    choice.kernel = kernel;
    return choice;
  }
  std::string message = cat("no kernel can run ", config.describe(), " on ", platform.str(),
                            choice.rejected.empty() ? " (no kernel of this family is registered for it)" : ":");
  for (const auto& r : choice.rejected) message += cat("\n  ", r.kernel, ": ", r.reason);
  throw Error(message);
}

std::string describe(const Choice& choice) {
  std::string text = cat("chosen: ", choice.kernel ? choice.kernel->name() : "(none)", " on ",
                         choice.platform);
  for (const auto& r : choice.rejected) text += cat("\n  passed over ", r.kernel, ": ", r.reason);
  return text;
}

}  // namespace qlinear
