// A kernel defined outside the library, for the selection tests: it answers the platform and
// config questions with the given rules, computes through the reference and counts its calls.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {

class OutsideKernel final : public Kernel {
 public:
  OutsideKernel(std::string name, Family family,
                std::function<Verdict(const Platform&)> platform_rule,
                std::function<Verdict(const LayerConfig&)> config_rule = {},
                Provider provider = Provider::external)
      : info_{std::move(name), provider, family},
        platform_rule_(std::move(platform_rule)),
        config_rule_(std::move(config_rule)),
        inner_(reference::make_kernel(family)) {}
  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& p) const override { return platform_rule_(p); }
  Verdict can_implement(const LayerConfig& c) const override {
    return config_rule_ ? config_rule_(c) : Verdict::yes();
  }
  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device d) const override {
    ++prepared_count;
    return inner_->process_weights(c, w, d);
  }
  void apply(const PreparedWeights& p, const TensorView& x, const TensorView& b,
             const TensorView& o, Stream s) const override {
    ++applied_count;
    inner_->apply(p, x, b, o, s);
  }
  // Its weights serve the kernel named `shares_with` too (one layout).
  std::shared_ptr<const PreparedWeights> weights_for(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const override {
    return &other == this || other.name() == shares_with ? prepared : nullptr;
  }
  // Its weights are made from those of the kernel named `made_from` (it reads that layout).
  std::shared_ptr<const PreparedWeights> weights_from(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const override {
    return other.name() == made_from ? prepared : nullptr;
  }
  mutable int prepared_count = 0;
  mutable int applied_count = 0;
  std::string shares_with, made_from;

 private:
  KernelInfo info_;
  std::function<Verdict(const Platform&)> platform_rule_;
  std::function<Verdict(const LayerConfig&)> config_rule_;
  std::shared_ptr<const Kernel> inner_;
};

inline Verdict any_platform(const Platform&) { return Verdict::yes(); }
inline Verdict needs_sm90(const Platform& p) {
  if (p.kind == PlatformKind::cuda && p.compute_capability >= 90) return Verdict::yes();
  return Verdict::no("needs compute capability 9.0 or newer");
}
inline Verdict only_group_128(const LayerConfig& c) {
  if (c.group_size == 128) return Verdict::yes();
  return Verdict::no(cat("group_size (", c.group_size, ") not supported; supported: 128"));
}

}  // namespace qlinear
