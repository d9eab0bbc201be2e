// `qlinear tune`: the fastest plan of kernels by token count for each layer, measured.
#include <algorithm>

#include "qlinear/bench.hpp"
#include "qlinear/composite.hpp"
#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::bench {
namespace {

// The names of the kernels of the priority list's plan for `config`: the chosen kernel, or a
// composite's parts.
std::vector<std::string> priority_plan(const LayerConfig& config, const Platform& platform) {
  ChooseOptions untuned;
  untuned.use_environment = false;
  untuned.use_shipped_tuning = false;
  std::vector<std::string> names;
  try {
    const Choice choice = Registry::global().choose(config, platform, untuned);
    if (const auto* plan = dynamic_cast<const CompositeKernel*>(choice.kernel))
      for (const PlanPart& part : plan->parts()) names.push_back(part.kernel->name());
    else
      names.push_back(choice.kernel->name());
  } catch (const Error&) {  // no kernel runs it: nothing to keep
  }
  return names;
}

}  // namespace

std::vector<std::string> tune_candidates(const LayerConfig& config, const Platform& platform) {
  const std::vector<std::string> default_plan = priority_plan(config, platform);
  const auto in_default_plan = [&](const Kernel* k) {
    return std::find(default_plan.begin(), default_plan.end(), k->name()) != default_plan.end();
  };
  std::vector<std::string> names;
  for (const Kernel* k : Registry::global().kernels(platform.kind)) {
    const KernelInfo& info = k->info();
    if (info.family != config.family || info.provider == Provider::reference ||
        info.provider == Provider::composite || (info.keeps_dense_copy && !in_default_plan(k)))
      continue;
    if (k->supported(platform) && k->can_implement(config)) names.push_back(k->name());
  }
  return names;
}

void tune(const Options& o, TuningTable& table,
          const std::function<void(const LayerConfig&, const TunedEntry&, const Run&)>& on_config) {
  const Platform& platform = platform_of(o.device);
  require(table.device() == tuned_device(platform), "tune: the table is of ",
          describe(table.device()), ", not of ", describe(tuned_device(platform)));
  Options one = o;  // one layer at a time, the buckets in increasing order (pruning needs it)
  std::sort(one.m_values.begin(), one.m_values.end());
  one.m_values.erase(std::unique(one.m_values.begin(), one.m_values.end()), one.m_values.end());
  one.peers = false;
  for (const LayerConfig& config : o.configs) {
    one.configs = {config};
    one.kernels = tune_candidates(config, platform);
    if (one.kernels.empty()) continue;
    TunedEntry entry;
    entry.key = tuning_key(config);
    const Run run = bench::run(one);
    for (const Record& r : run.records) entry.times_us[r.m][r.kernel] = r.us;
    entry.plan = fastest_plan(entry.times_us);
    if (entry.plan.empty()) continue;
    table.add(entry);
    if (on_config) on_config(config, entry, run);
  }
}

}  // namespace qlinear::bench
