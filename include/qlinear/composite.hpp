// A composite kernel: registered kernels by token count ("A for M <= t, B beyond", or a chain),
// itself a kernel of the priority list. Each part keeps its own name, reasons and weights, so
// `describe`, `qlinear select --m M` and QLINEAR_DISABLED_KERNELS reach every part; the weights
// are prepared once per layout (Kernel::weights_for and weights_from).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "qlinear/kernel.hpp"

namespace qlinear {

// The last part of a plan takes every call past the one before it.
inline constexpr int64_t kNoTokenLimit = std::numeric_limits<int64_t>::max();

struct PlanPart {
  std::shared_ptr<const Kernel> kernel;
  int64_t max_m = kNoTokenLimit;  // calls of up to max_m tokens (M = x.rows()) past the last part's
};

class CompositeKernel final : public Kernel {
 public:
  // Parts of one family, max_m strictly increasing, the last one kNoTokenLimit; throws
  // qlinear::Error naming the rule broken. A kernel may run two ranges (a measured plan: A, B, A
  // again); its weights are then prepared once.
  CompositeKernel(std::string name, std::vector<PlanPart> parts);

  const KernelInfo& info() const override { return info_; }
  const std::vector<PlanPart>& parts() const { return parts_; }
  // The part that runs calls of m tokens.
  const Kernel& part_for(int64_t m) const;
  // This plan without the parts `keep` says no to: a removed part's calls go to the next part up
  // (the new last part takes every larger call). Null when no part is left.
  std::shared_ptr<const CompositeKernel> keeping(
      const std::function<bool(const Kernel&)>& keep) const;

  // Yes when every part says yes; else the first part's reason, named.
  Verdict supported(const Platform& platform) const override;
  Verdict can_implement(const LayerConfig& config) const override;
  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& config,
                                                         const LayerWeights& weights,
                                                         Device device) const override;
  // When every part does.
  bool takes_code_words() const override;
  void apply(const PreparedWeights& weights, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream) const override;
  // The largest of the parts': which part runs depends on the call.
  double tolerance(const LayerConfig& config) const override;
  // A part's weights, for another part that shares them.
  std::shared_ptr<const PreparedWeights> weights_for(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const override;

 private:
  size_t part_index(int64_t m) const;

  KernelInfo info_;
  std::vector<PlanPart> parts_;
};

// "M <= 32: fp8_scaled_mm_sm90; M > 32: cublaslt_fp8_scaled_mm" (one line per part, `indent`
// before each).
std::string describe_plan(const CompositeKernel& plan, const std::string& indent = "");

}  // namespace qlinear
