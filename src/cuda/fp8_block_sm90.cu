// fp8_block_sm90: DeepSeek-style block fp8 on Hopper's wgmma through qlinear's GEMM core
// (cuda/hopper/scaled_mm_sm90.cuh): 1x128 activation groups (quantized per call) times 128x128
// weight blocks. Each 128-wide K slice's wgmma sum is scaled by its two block scales and added into
// fp32 registers (DeepGEMM's promotion), so the scales never leave the GEMM. Every M from 1 runs
// (decode swaps the operands, where cuBLASLt's block mode has no M = 1), N and K off the 128 grid
// included (TMA reads zeros there). It reads cublaslt_fp8_block's codes; the composite plan
// fp8_block_by_tokens runs it for decode and cuBLASLt beyond (src/core/heuristics_cuda.hpp).
#include "cuda/hopper/scaled_mm_layer.hpp"
#include "cuda/hopper/scaled_mm_sm90.cuh"
#include "cuda/kernels.hpp"
#include "gpu/cublaslt_layout.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cuda {
namespace sm90 {

void run_scaled_mm_e4m3_block(const ScaledMmCall& call, cudaStream_t stream) {
  run_scaled_mm<Operand::E4m3, Scaling::block>(call, stream);
}

}  // namespace sm90

namespace {

// The core's K slice and tile side: one scale block each.
constexpr int64_t kBlock = 128;

class Fp8BlockSm90 final : public sm90::HopperScaledMm {
 public:
  explicit Fp8BlockSm90(std::shared_ptr<const Kernel> layout)
      : HopperScaledMm({"fp8_block_sm90", Provider::cuda, Family::fp8_block}, std::move(layout)) {}

  Verdict can_implement(const LayerConfig& c) const override {
    if (c.block_n != kBlock || c.group_size != kBlock || c.act_group_size != kBlock)
      return Verdict::no(cat("weight blocks of ", c.block_n, "x", c.group_size,
                             " and activation groups of ", c.act_group_size,
                             "; this kernel's tiles take 128x128 blocks and 1x128 groups"));
    return Verdict::yes();
  }
  double tolerance(const LayerConfig& c) const override {
    return cublaslt::fp8_tensor_core_tolerance(c);
  }

 private:
  void run(const sm90::HopperWeights& w, const sm90::QuantizedActivations& q,
           sm90::ScaledMmCall& call, cudaStream_t stream) const override {
    call.epilogue.token_block_scale = q.scales();
    call.epilogue.feature_block_scale = w.weight_scale.data_as<const float>();
    call.epilogue.k_groups = q.scale_stride();
    sm90::run_scaled_mm_e4m3_block(call, stream);
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_fp8_block_sm90(std::shared_ptr<const Kernel> layout) {
  return std::make_shared<Fp8BlockSm90>(std::move(layout));
}

}  // namespace qlinear::cuda
