// What the three Hopper scaled-mm kernels (fp8_scaled_mm_sm90, int8_scaled_mm_sm90,
// fp8_block_sm90) share around the GEMM core: the weights in the core's layout with their tensor
// map, the per-call activation quantization, and the platform test.
#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "cuda/hopper/scaled_mm_sm90.hpp"
#include "gpu/scratch.hpp"
#include "qlinear/kernel.hpp"

namespace qlinear::cuda::sm90 {

struct HopperWeights final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  // The weights as the family's cuBLASLt kernel prepares them (K padded to 16, N to 16): this
  // kernel reads the same codes, so a composite of both holds one copy (Kernel::weights_for).
  std::shared_ptr<const PreparedWeights> padded;
  Device device;
  int sms = 0;               // of the device, read once here rather than on every call
  int64_t k_pitch = 0;       // K rounded up to 16 (TMA's row alignment)
  Tensor weight;             // [N (padded), k_pitch] codes, zero beyond K
  CUtensorMap weight_map{};  // of `weight`
  Tensor weight_scale;       // fp32 as given: [1], [N], or [ceil(N/128), ceil(K/128)] blocks
  Tensor feature_sum;        // int8 with activation zero points: Σ_k w[n, k]
  Tensor input_scale, input_zero_point;
};

std::shared_ptr<HopperWeights> prepare_weights(const LayerConfig& config,
                                               const LayerWeights& weights, Device device,
                                               const Kernel& layout);

// The call's tile plan and split-K workspace; the quantizer zeroes its tickets, so that the GEMM
// follows the quantizer directly in the stream (and overlaps it).
class SplitWorkspace {
 public:
  SplitWorkspace(const HopperWeights& weights, int64_t m, cudaStream_t stream);
  const TilePlan& plan() const { return plan_; }
  void* get() const { return scratch_.get(); }

 private:
  TilePlan plan_;
  Scratch scratch_;
};

// x quantized as the layer's config prescribes: codes [M, k_pitch] (zero beyond K) and scales —
// [M, K/128] row-major for 1x128 groups, else [M] or one per-tensor value — and zero points.
class QuantizedActivations {
 public:
  QuantizedActivations(const HopperWeights& weights, const TensorView& x,
                       const SplitWorkspace& workspace, cudaStream_t stream);
  const void* codes() const { return codes_.get(); }
  const float* scales() const { return scales_.get<const float>(); }
  const int32_t* zero_points() const { return zero_points_.get<const int32_t>(); }
  int64_t scale_stride() const { return scale_stride_; }  // per token: 0 for one per tensor

 private:
  Scratch codes_, scales_, zero_points_;
  int64_t scale_stride_ = 0;
};

// The call for the core with the output, bias and activation codes filled in; the kernel adds its
// scales.
ScaledMmCall make_call(const HopperWeights& weights, const SplitWorkspace& workspace,
                       const QuantizedActivations& x, int64_t m, const TensorView& bias,
                       const TensorView& out);

// Hopper, and this build has sm_90a code.
Verdict hopper_sm90a(const Platform& platform);

// What the three kernels share: their GEMM at every M, on the codes of the family's cuBLASLt kernel
// (`layout`), made once by that kernel's process_weights. Where each is faster than cuBLASLt
// (decode) is the composite plans' business (src/core/heuristics_cuda.hpp). A kernel adds its
// scales to the call and picks the GEMM (run), and states its tolerance.
class HopperScaledMm : public Kernel {
 public:
  HopperScaledMm(KernelInfo info, std::shared_ptr<const Kernel> layout)
      : info_(std::move(info)), layout_(std::move(layout)) {}
  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& platform) const override { return hopper_sm90a(platform); }
  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& config,
                                                         const LayerWeights& weights,
                                                         Device device) const override {
    return prepare_weights(config, weights, device, *layout_);
  }
  void apply(const PreparedWeights& weights, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream) const override;
  // The cuBLASLt kernel's weights are inside this kernel's.
  std::shared_ptr<const PreparedWeights> weights_for(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const override;

 protected:
  virtual void run(const HopperWeights& weights, const QuantizedActivations& x, ScaledMmCall& call,
                   cudaStream_t stream) const = 0;

 private:
  KernelInfo info_;
  std::shared_ptr<const Kernel> layout_;
};

}  // namespace qlinear::cuda::sm90
