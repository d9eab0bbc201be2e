#include <algorithm>

#include "qlinear/composite.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

struct CompositeWeights final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  std::vector<std::shared_ptr<const PreparedWeights>> parts;  // one per part, shared where equal
};

}  // namespace

CompositeKernel::CompositeKernel(std::string name, std::vector<PlanPart> parts)
    : parts_(std::move(parts)) {
  require(!parts_.empty(), "composite kernel '", name, "': no parts");
  info_ = {std::move(name), Provider::composite, parts_.front().kernel->family()};
  for (size_t i = 0; i < parts_.size(); ++i) {
    const PlanPart& p = parts_[i];
    require(p.kernel != nullptr, "composite kernel '", info_.name, "': part ", i, " is null");
    require(p.kernel->family() == info_.family, "composite kernel '", info_.name, "': part ",
            p.kernel->name(), " implements ", qlinear::name(p.kernel->family()), ", not ",
            qlinear::name(info_.family));
    const bool last = i + 1 == parts_.size();
    require(last == (p.max_m == kNoTokenLimit), "composite kernel '", info_.name, "': part ",
            p.kernel->name(),
            last ? " is the last and must take every larger call (kNoTokenLimit)"
                 : " has no token limit but is not the last part");
    require(i == 0 || p.max_m > parts_[i - 1].max_m, "composite kernel '", info_.name,
            "': token limits must increase; part ", p.kernel->name(), " has ", p.max_m, " after ",
            parts_[i - 1].max_m);
    require(p.max_m >= 1, "composite kernel '", info_.name, "': part ", p.kernel->name(),
            " has token limit ", p.max_m, "; expected at least 1");
  }
}

size_t CompositeKernel::part_index(int64_t m) const {
  size_t i = 0;
  while (m > parts_[i].max_m) ++i;  // the last part's limit is kNoTokenLimit
  return i;
}

const Kernel& CompositeKernel::part_for(int64_t m) const { return *parts_[part_index(m)].kernel; }

std::shared_ptr<const CompositeKernel> CompositeKernel::keeping(
    const std::function<bool(const Kernel&)>& keep) const {
  std::vector<PlanPart> kept;
  for (const PlanPart& p : parts_)
    if (keep(*p.kernel)) kept.push_back(p);
  if (kept.empty()) return nullptr;
  kept.back().max_m = kNoTokenLimit;
  return std::make_shared<CompositeKernel>(info_.name, std::move(kept));
}

Verdict CompositeKernel::supported(const Platform& platform) const {
  for (const PlanPart& p : parts_)
    if (Verdict v = p.kernel->supported(platform); !v)
      return Verdict::no(cat("part ", p.kernel->name(), ": ", v.reason()));
  return Verdict::yes();
}

Verdict CompositeKernel::can_implement(const LayerConfig& config) const {
  for (const PlanPart& p : parts_)
    if (Verdict v = p.kernel->can_implement(config); !v)
      return Verdict::no(cat("part ", p.kernel->name(), ": ", v.reason()));
  return Verdict::yes();
}

std::shared_ptr<const PreparedWeights> CompositeKernel::process_weights(const LayerConfig& config,
                                                                        const LayerWeights& weights,
                                                                        Device device) const {
  auto prepared = std::make_shared<CompositeWeights>(config);
  for (size_t i = 0; i < parts_.size(); ++i) {
    const Kernel& kernel = *parts_[i].kernel;
    std::shared_ptr<const PreparedWeights> shared;
    for (size_t j = 0; j < i && !shared; ++j) {
      shared = parts_[j].kernel->weights_for(kernel, prepared->parts[j]);
      if (!shared) shared = kernel.weights_from(*parts_[j].kernel, prepared->parts[j]);
    }
    prepared->parts.push_back(shared ? shared : kernel.process_weights(config, weights, device));
  }
  return prepared;
}

bool CompositeKernel::takes_code_words() const {
  return std::all_of(parts_.begin(), parts_.end(),
                     [](const PlanPart& p) { return p.kernel->takes_code_words(); });
}

void CompositeKernel::apply(const PreparedWeights& weights, const TensorView& x,
                            const TensorView& bias, const TensorView& out, Stream stream) const {
  const auto& w = static_cast<const CompositeWeights&>(weights);
  const size_t i = part_index(x.rows());
  parts_[i].kernel->apply(*w.parts[i], x, bias, out, stream);
}

double CompositeKernel::tolerance(const LayerConfig& config) const {
  double bound = 0;
  for (const PlanPart& p : parts_) bound = std::max(bound, p.kernel->tolerance(config));
  return bound;
}

std::shared_ptr<const PreparedWeights> CompositeKernel::weights_for(
    const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const {
  if (&other == this) return prepared;
  const auto& w = static_cast<const CompositeWeights&>(*prepared);
  for (size_t i = 0; i < parts_.size(); ++i)
    if (auto shared = parts_[i].kernel->weights_for(other, w.parts[i])) return shared;
  return nullptr;
}

std::string describe_plan(const CompositeKernel& plan, const std::string& indent) {
  std::string text;
  int64_t above = 0;
  for (const PlanPart& p : plan.parts()) {
    const std::string range =
        p.max_m == kNoTokenLimit
            ? (above == 0 ? std::string("every M") : cat("M > ", above))
            : (above == 0 ? cat("M <= ", p.max_m) : cat("M ", above + 1, "..", p.max_m));
    text += cat(text.empty() ? "" : "\n", indent, range, ": ", p.kernel->name());
    above = p.max_m;
  }
  return text;
}

}  // namespace qlinear
