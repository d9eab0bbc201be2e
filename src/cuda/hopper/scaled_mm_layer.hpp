// What the three Hopper scaled-mm kernels (fp8_scaled_mm_sm90, int8_scaled_mm_sm90,
// fp8_block_sm90) share around the GEMM core: the weights in the core's layout with their tensor
// map, the per-call activation quantization, and the platform test.
#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "cuda/hopper/scaled_mm_sm90.hpp"
#include "cuda/scratch.hpp"
#include "qlinear/kernel.hpp"

namespace qlinear::cuda::sm90 {

struct HopperWeights final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  // The family's cuBLASLt kernel and its weights, which calls past the kernel's own M range go to.
  // The codes are one tensor shared by both (cuBLASLt's layout: K padded to 16, N to 16).
  std::shared_ptr<const Kernel> fallback_kernel;
  std::shared_ptr<const PreparedWeights> fallback;
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
                                               std::shared_ptr<const Kernel> fallback);

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

// What the three kernels share: their own GEMM up to own_max_m tokens (decode, where it beats
// cuBLASLt: bench/NOTES.md), the family's cuBLASLt kernel past it; the weights made once for both.
// A kernel adds its scales to the call and picks the GEMM (run), and states its tolerance.
class HopperScaledMm : public Kernel {
 public:
  HopperScaledMm(KernelInfo info, std::shared_ptr<const Kernel> fallback, int64_t own_max_m)
      : info_(std::move(info)), fallback_(std::move(fallback)), own_max_m_(own_max_m) {}
  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform& platform) const override { return hopper_sm90a(platform); }
  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& config,
                                                         const LayerWeights& weights,
                                                         Device device) const override {
    return prepare_weights(config, weights, device, fallback_);
  }
  void apply(const PreparedWeights& weights, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream) const override;

 protected:
  virtual void run(const HopperWeights& weights, const QuantizedActivations& x, ScaledMmCall& call,
                   cudaStream_t stream) const = 0;

 private:
  KernelInfo info_;
  std::shared_ptr<const Kernel> fallback_;
  int64_t own_max_m_;
};

}  // namespace qlinear::cuda::sm90
