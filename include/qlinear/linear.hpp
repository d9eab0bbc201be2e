// A quantized linear layer: config + weights in the chosen kernel's layout + the kernel.
#pragma once

#include <memory>

#include "qlinear/kernel.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {

// Throws qlinear::Error naming the tensor and what was expected when `weights` do not match the
// canonical layout of `config` (presence, dtype, shape, device, g_idx range).
void validate_weights(const LayerConfig& config, const LayerWeights& weights, Device device);
// Throws qlinear::Error unless x is [..., K] of act_type, out is [..., N] with x's leading shape
// and out_type, bias is [N] of fp32/bf16/fp16 (and given iff config.bias), all contiguous on device.
void validate_call(const LayerConfig& config, const TensorView& x, const TensorView& bias,
                   const TensorView& out, Device device);

class QuantizedLinear {
 public:
  // Validates the config and the canonical weights (which must live on `device`), chooses a kernel
  // for the platform of `device` and converts the weights to its layout. The caller's tensors are
  // only read.
  QuantizedLinear(const LayerConfig& config, const LayerWeights& weights,
                  Device device = Device::cpu(), const ChooseOptions& options = {},
                  const Registry& registry = Registry::global());
  // With a kernel chosen by the caller (no selection; can_implement is still asked).
  QuantizedLinear(const LayerConfig& config, const LayerWeights& weights, const Kernel& kernel,
                  Device device = Device::cpu());

  const LayerConfig& config() const { return prepared_->config(); }
  const Kernel& kernel() const { return *kernel_; }
  const Choice& choice() const { return choice_; }
  Device device() const { return device_; }

  // out = x · Wᵀ (+ bias). Safe to call from several threads at once.
  void forward_into(const TensorView& x, const TensorView& out, const TensorView& bias = {},
                    Stream stream = {}) const;
  // Allocates the output ([..., N] of out_type on the layer's device).
  Tensor forward(const TensorView& x, const TensorView& bias = {}, Stream stream = {}) const;

 private:
  const Kernel* kernel_ = nullptr;
  Choice choice_;
  Device device_;
  std::shared_ptr<const PreparedWeights> prepared_;
};

}  // namespace qlinear
