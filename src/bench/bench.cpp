// The benchmark runner: registries of bench devices and peers, and the timing loop.
#include "qlinear/bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <tuple>

#include "bench/bench_list.hpp"
#include "bench/median.hpp"
#include "qlinear/composite.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::bench {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<DeviceType, BenchDeviceFactory> devices;
  std::vector<std::pair<PlatformKind, std::shared_ptr<const Peer>>> peers;
};

Registry& registry() {
  static Registry* r = [] {
    auto* made = new Registry;  // never destroyed, like the kernel registry
    for (auto& [type, factory] : detail::built_in_bench_devices())
      made->devices[type] = std::move(factory);
    made->peers = detail::built_in_peers();
    return made;
  }();
  return *r;
}

int64_t bytes_of(const TensorView& t) { return t.defined() ? t.nbytes() : 0; }

// The activations of one layer's kernels at the M being timed: made once per M on the host (the
// random values of 8192 tokens take seconds) and copied to the device once, read by every case.
class SharedInputs {
 public:
  SharedInputs(const LayerConfig& config, Device device, uint64_t seed)
      : config_(config), device_(device), seed_(seed) {}
  const Tensor& at(int64_t m) {
    if (m != m_) {
      x_ = Tensor::copy_of(
          random_activations(config_.act_type, std::array{m, config_.part_k()}, seed_ + m),
          device_);
      m_ = m;
    }
    return x_;
  }

 private:
  LayerConfig config_;
  Device device_;
  uint64_t seed_;
  int64_t m_ = -1;
  Tensor x_;
};

// A kernel under test as a case of the timing loop: `copies` layers built from the same
// canonical weights, each converted by the kernel on its own.
class KernelCase final : public PeerCase {
 public:
  KernelCase(const Kernel& kernel, const RandomLayer& layer, int copies, Device device,
             uint64_t seed, SharedInputs& inputs)
      : config_(layer.config), device_(device), inputs_(inputs) {
    // on_device_ stays alive: a kernel whose layout is the canonical one may keep views into it.
    on_device_ = layer.to(device);
    const LayerWeights w = on_device_.weights();
    for (const TensorView& t : {w.weight, w.weight_scale, w.weight_zero_point,
                                w.weight_global_scale, w.g_idx, w.input_scale, w.input_zero_point})
      if (t.defined()) weight_bytes_ += t.nbytes();
    for (int i = 0; i < copies; ++i)
      linears_.push_back(std::make_unique<QuantizedLinear>(config_, w, kernel, device));
    if (config_.bias)
      bias_ = Tensor::copy_of(
          random_activations(ScalarType::fp32, std::array{config_.part_n()}, seed + 2), device);
  }

  void prepare_m(int64_t m) override {
    x_ = inputs_.at(m);
    out_ = Tensor::empty(config_.out_type, {m, config_.part_n()}, device_);
  }
  void run(int copy, Stream stream) override {
    linears_[static_cast<size_t>(copy)]->forward_into(x_, out_, bias_, stream);
  }
  int64_t bytes(int64_t m) const override {
    return weight_bytes_ + storage_bytes(config_.act_type, m * config_.part_k()) +
           storage_bytes(config_.out_type, m * config_.part_n()) + bytes_of(bias_);
  }
  // The kernel that runs M tokens (a composite's part).
  std::string implementation(int64_t m) const override {
    const Kernel& kernel = linears_.front()->kernel();
    const auto* plan = dynamic_cast<const CompositeKernel*>(&kernel);
    return plan != nullptr ? plan->part_for(m).name() : kernel.name();
  }

 private:
  LayerConfig config_;
  Device device_;
  LayerTensors on_device_;
  int64_t weight_bytes_ = 0;
  std::vector<std::unique_ptr<QuantizedLinear>> linears_;
  SharedInputs& inputs_;
  TensorView x_;
  Tensor out_, bias_;
};

struct Case {
  std::string name;
  bool peer = false;
  ScalarType multiply_type = ScalarType::bf16;
  int copies = 1;
  std::unique_ptr<PeerCase> impl;
  int calls = 0;  // calls so far: the weight copy of the next one is calls % copies_in_use
  // The copies its calls rotate over at this M: all of them, or as many as it has timed calls
  // from the M on (compute_bound_from) where its time was far above the memory floor. There the
  // copy a call reads changes its time little, and each copy in rotation costs a warm-up call.
  int copies_in_use = 1;
  int64_t compute_bound_from = std::numeric_limits<int64_t>::max();
  int reps = 1;        // its timed calls at this M (Options::seconds_per_case)
  double last_us = 0;  // its median at the M before (at its first M: one probing call)
  // > 0: its time at the last M it ran, where it was too slow (Options::prune_ratio). A kernel
  // takes no less time at more tokens, so it is timed again only once the fastest kernel at a
  // later M is within the ratio of this time: a kernel with a high fixed cost (a dequantizing
  // GEMM at one token) is not dropped before the M where it wins.
  double pruned_us = 0;
};

// A call this many times its memory floor is bound by its arithmetic: which weight copy it reads
// changes its time little (Case::copies_in_use).
constexpr double kComputeBound = 8;

// Weight copies for rotation: enough for rotate_bytes in all, within the budget, and at most
// kMaxCopies (tiny layers would need hundreds of thousands; their copies then cover less).
constexpr int64_t kMaxCopies = 512;
int copies_for(const Options& o, int64_t weight_bytes, int64_t budget) {
  if (o.rotate_bytes <= 0 || weight_bytes <= 0) return 1;
  const int64_t wanted = std::min((o.rotate_bytes + weight_bytes - 1) / weight_bytes, kMaxCopies);
  return static_cast<int>(std::max<int64_t>(1, std::min(wanted, budget / weight_bytes)));
}

int64_t canonical_weight_bytes(const LayerConfig& c) {
  const auto s = c.weight_scale_shape();
  int64_t bytes = storage_bytes(c.weight_type, c.part_n() * c.part_k()) +
                  storage_bytes(c.weight_scale_type, s[0] * s[1]);
  if (c.zero_points) bytes += s[0] * s[1];
  if (c.act_order) bytes += 4 * c.part_k();
  return bytes;
}

// Whether the run times the default choice (the row "default"): with no kernel named, with "all",
// or where "default" is among the names.
bool times_default(const Options& o) {
  return o.kernels.empty() || (o.kernels.size() == 1 && o.kernels.front() == "all") ||
         std::find(o.kernels.begin(), o.kernels.end(), "default") != o.kernels.end();
}

// The kernels of the run for `config`: those named ("default" names the default choice, not a
// kernel); or with none named, each provider's first kernel (in priority order) that runs the
// config here, as selection would pick within the provider (the reference aside); or with "all",
// every kernel but the reference.
std::vector<const Kernel*> kernels_for(const Options& o, const LayerConfig& config,
                                       const Platform& platform, std::vector<std::string>& notes) {
  const bool all = o.kernels.size() == 1 && o.kernels.front() == "all";
  const bool named_only = !o.kernels.empty() && !all;
  std::vector<const Kernel*> chosen;
  std::vector<Provider> providers_done;
  for (const Kernel* k : qlinear::Registry::global().kernels(platform.kind)) {
    if (k->family() != config.family) continue;
    const Provider provider = k->info().provider;
    if (named_only) {
      if (std::find(o.kernels.begin(), o.kernels.end(), k->name()) == o.kernels.end()) continue;
    } else if (provider == Provider::reference ||
               std::find(providers_done.begin(), providers_done.end(), provider) !=
                   providers_done.end()) {
      continue;
    }
    if (Verdict v = k->supported(platform); !v) {
      if (named_only)
        notes.push_back(cat(k->name(), ": does not run on ", platform.str(), ": ", v.reason()));
    } else if (Verdict c = k->can_implement(config); !c) {
      notes.push_back(cat(k->name(), ": cannot run ", config.describe(), ": ", c.reason()));
    } else {
      chosen.push_back(k);
      if (!all) providers_done.push_back(provider);
    }
  }
  return chosen;
}

}  // namespace

void register_bench_device(DeviceType type, BenchDeviceFactory factory) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.devices[type] = std::move(factory);
}

void register_peer(PlatformKind platform, std::shared_ptr<const Peer> peer) {
  require(peer != nullptr, "register_peer: peer is null");
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const auto& [kind, p] : r.peers)
    require(!(kind == platform && p->name() == peer->name()), "register_peer: '", peer->name(),
            "' is already registered for ", name(platform));
  r.peers.emplace_back(platform, std::move(peer));
}

std::unique_ptr<BenchDevice> make_bench_device(Device device) {
  Registry& r = registry();
  BenchDeviceFactory factory;
  {
    std::lock_guard lock(r.mutex);
    if (auto it = r.devices.find(device.type); it != r.devices.end()) factory = it->second;
  }
  if (!factory) {
#if QLINEAR_WITH_CUDA
    throw Error(cat("bench: no timer is registered for ", device.str(),
                    " (the CUDA bench device belongs in src/bench/bench_list.cpp)"));
#else
    throw Error(cat("bench: cannot time ", device.str(),
                    ": qlinear was built without CUDA "
                    "(-DQLINEAR_CUDA=OFF or no CUDA toolkit found)"));
#endif
  }
  return factory(device);
}

std::vector<const Peer*> peers(PlatformKind platform) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<const Peer*> list;
  for (const auto& [kind, p] : r.peers)
    if (kind == platform) list.push_back(p.get());
  return list;
}

Run run(const Options& o, const std::function<void(const Record&)>& on_record) {
  require(o.reps > 0, "bench: reps is ", o.reps, "; expected at least 1");
  require(!o.m_values.empty(), "bench: no M values");
  require(o.seconds_per_case >= 0, "bench: seconds per case is ", o.seconds_per_case,
          "; expected 0 or more");
  require(o.prune_ratio == 0 || o.prune_ratio > 1, "bench: prune ratio ", o.prune_ratio,
          "; expected 0 (none) or more than 1");
  for (int64_t m : o.m_values) require(m > 0, "bench: M = ", m, "; expected positive values");
  for (const std::string& k : o.kernels) {
    // A tuning table's plan (tuned_<family>) is made per layer from the table, not registered:
    // the run's default choice is that plan wherever the table holds the layer.
    require(!k.starts_with("tuned_"), "bench: kernel '", k,
            "' is a tuning table's plan for a layer, not a registered kernel; --kernel default "
            "times it on the layers the table holds");
    require(k == "all" || k == "default" || qlinear::Registry::global().find(k) != nullptr,
            "bench: kernel '", k, "' is not registered; see `qlinear kernels`");
  }

  const Platform& platform = platform_of(o.device);
  std::unique_ptr<BenchDevice> device = make_bench_device(o.device);
  Run result;
  result.device = device->describe();
  result.peak_source = device->peak_source();
  result.read_gbs = device->measure_read_bandwidth();
  // A peer's time depends on the shape and M only: measured once per run, reused for every family.
  std::map<std::tuple<std::string, int64_t, int64_t, int64_t>, Record> peer_rows;

  const auto seconds_since = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const auto run_start = std::chrono::steady_clock::now();
  for (const LayerConfig& config : o.configs) {
    validate(config);
    // Peers that apply, the baseline first; then the kernels.
    std::vector<const Peer*> applicable;
    for (const Peer* p : o.peers ? peers(platform.kind) : std::vector<const Peer*>{}) {
      if (Verdict v = p->applies(config, platform); v) applicable.push_back(p);
    }
    std::string baseline = applicable.empty() ? "" : applicable.front()->name();
    if (!o.baseline.empty()) {
      const auto it = std::find_if(applicable.begin(), applicable.end(),
                                   [&](const Peer* p) { return p->name() == o.baseline; });
      if (it != applicable.end()) {
        baseline = o.baseline;
        std::rotate(applicable.begin(), it, it + 1);
      } else {
        result.notes.push_back(cat("baseline ", o.baseline, " does not apply to ",
                                   config.describe(), "; using ",
                                   baseline.empty() ? "none" : baseline));
      }
    }
    const std::vector<const Kernel*> kernels = kernels_for(o, config, platform, result.notes);
    // The default choice too (a tuned plan, a composite or one kernel, as a layer built without a
    // kernel named gets it), as the row "default".
    std::optional<Choice> default_choice;
    if (times_default(o)) {
      try {
        default_choice = qlinear::Registry::global().choose(config, platform);
      } catch (const Error& e) {
        result.notes.push_back(cat("default choice for ", config.describe(), ": ", e.what()));
      }
    }
    if (kernels.empty() && applicable.empty() && !default_choice) {
      result.notes.push_back(cat("nothing to time for ", config.describe()));
      continue;
    }
    const int64_t budget =
        device->copy_budget_bytes() /
        static_cast<int64_t>(kernels.size() + applicable.size() + (default_choice ? 1 : 0));

    const int64_t n = config.part_n(), k = config.part_k();
    const auto measured = [&](const std::string& peer) {
      return std::all_of(o.m_values.begin(), o.m_values.end(), [&](int64_t m) {
        return peer_rows.count({peer, n, k, m}) > 0;
      });
    };
    std::vector<Case> cases;
    const auto prepare_start = std::chrono::steady_clock::now();
    double layer_s = 0;                    // making the random layer, within the preparation
    std::unique_ptr<SharedInputs> inputs;  // the kernel cases' activations
    for (const Peer* p : applicable) {
      Case c{p->name(), true, p->multiply_type(), copies_for(o, p->weight_bytes(config), budget),
             nullptr};
      if (!measured(p->name())) c.impl = p->prepare(config, c.copies, o.device);
      cases.push_back(std::move(c));
    }
    if (!kernels.empty() || default_choice) {
      inputs = std::make_unique<SharedInputs>(config, o.device, o.seed);
      const auto layer_start = std::chrono::steady_clock::now();
      const RandomLayer layer = make_random_layer(config, o.seed);
      layer_s = seconds_since(layer_start);
      if (default_choice) {
        Case c{"default", false, config.act_quant.value_or(config.act_type),
               copies_for(o, canonical_weight_bytes(config), budget), nullptr};
        c.impl = std::make_unique<KernelCase>(*default_choice->kernel, layer, c.copies, o.device,
                                              o.seed, *inputs);
        cases.push_back(std::move(c));
      }
      for (const Kernel* k : kernels) {
        // The reference keeps float64 weights (8 bytes each): timed on one copy.
        const int copies = k->info().provider == Provider::reference
                               ? 1
                               : copies_for(o, canonical_weight_bytes(config), budget);
        Case c{k->name(), false, config.act_quant.value_or(config.act_type), copies, nullptr};
        c.impl = std::make_unique<KernelCase>(*k, layer, c.copies, o.device, o.seed, *inputs);
        cases.push_back(std::move(c));
      }
    }
    result.make_layers_s += layer_s;
    result.prepare_s += seconds_since(prepare_start) - layer_s;

    for (int64_t m : o.m_values) {
      std::vector<std::vector<double>> samples(cases.size());
      // The cases `which` allows take turns, a few calls at a time, so that load from other
      // processes falls on all of them alike; each case's median is over its calls of every round.
      // A case's call on its next weight copy, as the device times it.
      const auto next_call = [](Case& c) {
        return [&c](int, Stream s) { c.impl->run(c.calls++ % c.copies_in_use, s); };
      };
      const auto time_cases = [&](const std::function<bool(const Case&)>& which) {
        const int rounds = std::min(o.reps, 5);
        for (int round = 0; round < rounds; ++round)
          for (size_t i = 0; i < cases.size(); ++i) {
            Case& c = cases[i];
            if (!c.impl || !which(c)) continue;  // no impl: a peer measured for an earlier layer
            const int reps = c.reps / rounds + (round < c.reps % rounds ? 1 : 0);
            if (reps == 0) continue;  // a case with fewer calls than rounds sits the last ones out
            // The first round warms up every weight copy once (whatever a copy sets up on its
            // first call for this M, such as a oneDNN primitive, stays out of the timing) and then
            // some; every later round makes one untimed call, after the other cases had the caches
            // — but for a case bound by its arithmetic, which the caches hardly change.
            const bool compute_bound = m >= c.compute_bound_from;
            const int warmup = round == 0 ? c.copies_in_use + o.warmup : compute_bound ? 0 : 1;
            const std::vector<double> t = device->time(next_call(c), warmup, reps);
            samples[i].insert(samples[i].end(), t.begin(), t.end());
          }
      };
      const auto fastest_kernel_us = [&] {
        double fastest = std::numeric_limits<double>::infinity();
        for (size_t i = 0; i < cases.size(); ++i)
          if (!cases[i].peer && !samples[i].empty())
            fastest = std::min(fastest, median(samples[i]));
        return fastest;
      };
      for (Case& c : cases) {
        if (c.impl) c.impl->prepare_m(m);
        c.copies_in_use = c.copies;
        c.calls = 0;
      }
      // At a case's first M (no time of its own yet), with a budget or pruning: one warm call and
      // one timed, for its number of calls, and to leave out at once a kernel too slow to win
      // here (a scalar tile at one token on a large layer made 18 calls of 0.24 s to be pruned).
      if (o.seconds_per_case > 0 || o.prune_ratio > 0) {
        std::vector<bool> probed(cases.size(), false);
        double fastest_probe = std::numeric_limits<double>::infinity();
        for (size_t i = 0; i < cases.size(); ++i) {
          Case& c = cases[i];
          if (!c.impl || c.pruned_us > 0 || c.last_us > 0) continue;
          c.last_us = device->time(next_call(c), 1, 1)[0];
          probed[i] = true;
          if (!c.peer) fastest_probe = std::min(fastest_probe, c.last_us);
        }
        for (size_t i = 0; i < cases.size(); ++i)
          if (o.prune_ratio > 0 && probed[i] && !cases[i].peer &&
              cases[i].last_us > o.prune_ratio * fastest_probe)
            cases[i].pruned_us = cases[i].last_us;
      }
      for (Case& c : cases) {
        c.reps = o.reps;
        if (o.seconds_per_case > 0 && c.last_us > 0)
          c.reps = static_cast<int>(std::clamp(o.seconds_per_case * 1e6 / c.last_us,
                                               static_cast<double>(std::min(o.reps, 3)),
                                               static_cast<double>(o.reps)));
        c.copies_in_use =
            m >= c.compute_bound_from ? std::min(c.copies, std::max(c.reps, 1)) : c.copies;
      }
      time_cases([](const Case& c) { return c.pruned_us == 0; });
      if (o.prune_ratio > 0) {
        const double fastest = fastest_kernel_us();
        // A pruned kernel is timed again only if one warm call at this M is within the ratio too:
        // its full timing warms every weight copy first (on the CPU a scalar tile at 256 tokens
        // spent ~30 s of a layer's tuning there, to be pruned again).
        for (Case& c : cases) {
          if (c.pruned_us == 0 || c.pruned_us > o.prune_ratio * fastest) continue;
          const double probe_us = device->time(next_call(c), 1, 1)[0];
          if (probe_us > o.prune_ratio * fastest) c.pruned_us = probe_us;
        }
        time_cases([&](const Case& c) {
          return c.pruned_us > 0 && c.pruned_us <= o.prune_ratio * fastest;
        });
      }
      std::vector<Record> rows;
      for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        if (!c.impl) {
          Record r = peer_rows.at({c.name, n, k, m});
          r.family = std::string(name(config.family));
          r.config = config.describe();
          rows.push_back(r);
          continue;
        }
        if (samples[i].empty()) continue;  // pruned
        Record r;
        r.kernel = c.name;
        r.peer = c.peer;
        r.family = std::string(name(config.family));
        r.device = o.device.str();
        r.config = config.describe();
        r.implementation = c.impl->implementation(m);
        r.m = m, r.n = n, r.k = k;
        r.copies = c.copies_in_use;
        r.us = median(samples[i]);
        r.us_min = *std::min_element(samples[i].begin(), samples[i].end());
        const double flops =
            2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
        const auto bytes = static_cast<double>(c.impl->bytes(m));
        r.tflops = flops / r.us * 1e-6;
        r.gbs = bytes / r.us * 1e-3;
        r.memory_floor_us = bytes / (result.read_gbs * 1e3);
        const double peak = device->peak_ops(c.multiply_type);
        r.compute_floor_us = peak > 0 ? flops / peak * 1e6 : 0;
        r.floor_us = std::max(r.memory_floor_us, r.compute_floor_us);
        if (c.peer) peer_rows[{c.name, n, k, m}] = r;
        cases[i].last_us = r.us;
        if (r.us > kComputeBound * r.memory_floor_us)
          cases[i].compute_bound_from = std::min(cases[i].compute_bound_from, m);
        rows.push_back(r);
      }
      if (o.prune_ratio > 0) {
        const double fastest = fastest_kernel_us();
        for (size_t i = 0; i < cases.size(); ++i) {
          Case& c = cases[i];
          if (c.peer || samples[i].empty()) continue;
          const double us = median(samples[i]);
          c.pruned_us = us > o.prune_ratio * fastest ? us : 0;
        }
      }
      std::map<std::string, double> peers_us;
      for (const Record& r : rows)
        if (r.peer) peers_us[r.kernel] = r.us;
      for (Record& r : rows) {
        r.peers_us = peers_us;
        if (!baseline.empty()) {
          r.baseline = baseline;
          r.baseline_us = peers_us[baseline];
          r.speedup = r.baseline_us / r.us;
        }
        if (on_record) on_record(r);
        result.records.push_back(r);
      }
    }
  }
  result.total_s = seconds_since(run_start);
  return result;
}

}  // namespace qlinear::bench
