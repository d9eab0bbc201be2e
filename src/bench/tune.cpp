// `qlinear tune`: the fastest plan of kernels by token count for each layer, measured.
#include <algorithm>

#include "qlinear/bench.hpp"
#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::bench {
namespace {

// The kernels a plan may be made of for `config` on `platform`.
std::vector<std::string> candidates(const LayerConfig& config, const Platform& platform) {
  std::vector<std::string> names;
  for (const Kernel* k : Registry::global().kernels(platform.kind)) {
    const KernelInfo& info = k->info();
    if (info.family != config.family || info.provider == Provider::reference ||
        info.provider == Provider::composite || info.keeps_dense_copy)
      continue;
    if (k->supported(platform) && k->can_implement(config)) names.push_back(k->name());
  }
  return names;
}

}  // namespace

std::shared_ptr<TuningTable> tune(
    const TuneOptions& o,
    const std::function<void(const LayerConfig&, const TunedEntry&)>& on_config) {
  require(o.prune_ratio > 1, "tune: prune ratio ", o.prune_ratio, "; expected more than 1");
  const Platform& platform = platform_of(o.bench.device);
  auto table = std::make_shared<TuningTable>(tuned_device(platform), "(this run)");
  std::vector<int64_t> m_values = o.bench.m_values;
  std::sort(m_values.begin(), m_values.end());
  m_values.erase(std::unique(m_values.begin(), m_values.end()), m_values.end());
  for (const LayerConfig& config : o.bench.configs) {
    TunedEntry entry;
    entry.key = tuning_key(config);
    std::vector<std::string> alive = candidates(config, platform);
    if (alive.empty()) continue;
    // The smallest M with every candidate, then the rest with those not far behind there (one
    // layer made per phase: the weights' copies cost more than timing a few kernels).
    const auto time_at = [&](std::vector<int64_t> ms) {
      Options one = o.bench;
      one.configs = {config};
      one.kernels = alive;
      one.m_values = std::move(ms);
      one.peers = false;
      for (const Record& r : bench::run(one).records) entry.times_us[r.m][r.kernel] = r.us;
    };
    time_at({m_values.front()});
    const auto& first = entry.times_us[m_values.front()];
    if (first.empty()) continue;
    const double best = std::min_element(first.begin(), first.end(), [](auto& a, auto& b) {
                          return a.second < b.second;
                        })->second;
    std::erase_if(alive, [&](const std::string& k) {
      return !first.count(k) || first.at(k) > o.prune_ratio * best;
    });
    if (m_values.size() > 1) time_at({m_values.begin() + 1, m_values.end()});
    entry.plan = fastest_plan(entry.times_us);
    if (entry.plan.empty()) continue;
    if (on_config) on_config(config, entry);
    table->add(std::move(entry));
  }
  return table;
}

}  // namespace qlinear::bench
