// The dequant_gemm kernels of the weight-only families (dequant_gemm_mixed_precision,
// dequant_gemm_nvfp4_weight_only, dequant_gemm_mxfp8_weight_only, one file each in src/cuda/),
// built for prefill (M >= 1024), where the GEMM's compute outweighs one pass over the weights.
// The weights stay on the device in their canonical quantized form; every call
//   1. dequantizes them into a scratch buffer ŵ [N, K'] of the activation type (bf16, or fp16 for
//      fp16 activations, which are then used exactly): one thread a run of 16 bytes of codes
//      (cuda/detail/dequant_run.cuh), its scale and zero point read once, 16-byte stores;
//   2. runs one cuBLASLt GEMM y[M, N] = x[M, K] · ŵ[N, K]ᵀ with fp32 accumulation, x read in place
//      (these families do not quantize activations), alpha = 2^-shift undoing fp16's power of two,
//      the output written in the layer's type with cuBLASLt's bias epilogue where the bias type
//      allows it, else qlinear's epilogue (cuda/dequant_gemm_plan.hpp, plan_output).
// The scratch comes from the stream-ordered pool (gpu/scratch.hpp); the GEMM's algorithm is
// cuBLASLt's heuristic's, cached per problem (gpu/cublaslt_matmul.hpp).
//
// The dequantization's work partition: one warp a row, one lane a run; 8 rows a block.
//
//        runs 0..31        runs 32..63       ...      grid.x = ceil(runs_per_row / 32)
//      +----------------+----------------+
//  row | warp 0         |                |
//  0-7 | ...            |  block (1, 0)  |            grid.y = ceil(N / 8) (at most 65535,
//      | warp 7         |                |            rows beyond it taken in turn)
//      +----------------+----------------+
//
// A family's policy (the struct in each kernel's file) provides kName, kFamily and launch(config,
// grouping): the dequantization of its format (dequant_launch below).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "cuda/dequant_gemm_plan.hpp"
#include "cuda/detail/dequant_run.cuh"
#include "gpu/check.hpp"
#include "gpu/cublaslt_layout.hpp"
#include "gpu/cublaslt_matmul.hpp"
#include "gpu/epilogue.hpp"
#include "gpu/scratch.hpp"
#include "qlinear/error.hpp"
#include "qlinear/kernel.hpp"

namespace qlinear::cuda::detail {

constexpr int kDequantRows = 8;  // rows (warps) a block

template <typename F, typename T, RunGrouping G>
__global__ void __launch_bounds__(32 * kDequantRows) dequantize_runs(DequantParams p) {
  const int run = blockIdx.x * 32 + threadIdx.x;
  if (run >= p.runs_per_row) return;
  for (int row = blockIdx.y * kDequantRows + threadIdx.y; row < p.n;
       row += gridDim.y * kDequantRows)
    dequantize_run<F, T, G>(p, row, run);
}

using DequantLaunch = void (*)(const DequantParams&, cudaStream_t);

template <typename F, typename T, RunGrouping G>
void launch_dequantize(const DequantParams& p, cudaStream_t stream) {
  const dim3 block(32, kDequantRows);
  const dim3 grid((p.runs_per_row + 31) / 32,
                  std::min((p.n + kDequantRows - 1) / kDequantRows, 65535));
  dequantize_runs<F, T, G><<<grid, block, 0, stream>>>(p);
  check_launch("dequantize_runs");
}

// The dequantization of format F for the activation type (bf16 or fp16) and the grouping, among
// the groupings Gs the family can ask for (only those are compiled); null for any other.
template <typename F, RunGrouping... Gs>
DequantLaunch dequant_launch(ScalarType act_type, RunGrouping grouping) {
  const bool bf16 = act_type == ScalarType::bf16;
  DequantLaunch launch = nullptr;
  ((grouping == Gs &&
    (launch = bf16 ? launch_dequantize<F, __nv_bfloat16, Gs> : launch_dequantize<F, __half, Gs>)),
   ...);
  return launch;
}

struct DequantPrepared final : PreparedWeights {
  using PreparedWeights::PreparedWeights;
  Device device;
  Tensor codes, scales, zeros, group_of_k;  // on the device: the layout of dequant_gemm_plan.hpp
  DequantParams params;                     // pointers into them; `out` is set per call
  int64_t out_row_stride = 0;
  float alpha = 1.f;
  DequantLaunch launch = nullptr;
};

template <typename V>
Tensor upload(const std::vector<V>& host, ScalarType dtype, Device device) {
  if (host.empty()) return {};
  const int64_t count = static_cast<int64_t>(host.size() * sizeof(V)) / (info(dtype).bits / 8);
  return Tensor::copy_of(TensorView(const_cast<V*>(host.data()), dtype, {count}), device);
}

template <typename Family>
class DequantGemm final : public Kernel {
 public:
  const KernelInfo& info() const override { return info_; }

  Verdict supported(const Platform& platform) const override {
    if (platform.kind != PlatformKind::cuda) return Verdict::no("a CUDA kernel");
    if (platform.compute_capability < 80)
      return Verdict::no(cat("needs compute capability 8.0 or newer (bf16 tensor cores); this is ",
                             platform.str()));
    return Verdict::yes();
  }

  // Every weight type, scale type, group size and act order of the family (runs in one group, in
  // two, or a group per position); the one limit is the activation type, which ŵ is made in.
  Verdict can_implement(const LayerConfig& c) const override {
    if (c.act_type != ScalarType::bf16 && c.act_type != ScalarType::fp16)
      return Verdict::no(cat("act_type (", qlinear::name(c.act_type),
                             ") not supported; supported: bf16, fp16 (the weights are dequantized "
                             "to the activation type for its tensor-core GEMM)"));
    return Verdict::yes();
  }

  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c,
                                                         const LayerWeights& w,
                                                         Device device) const override {
    require(device.is_cuda(), name(), ": weights must be on a CUDA device, not ", device.str());
    DeviceGuard guard(device.index);
    const DequantLayout l = dequant_layout(c, w);
    auto p = std::make_shared<DequantPrepared>(c);
    p->device = device;
    p->codes = dequant_codes(c, l, w.weight, device);
    p->scales = upload(l.scales, ScalarType::uint8, device);
    p->zeros = upload(l.zeros, ScalarType::uint8, device);
    p->group_of_k = upload(l.group_of_k, ScalarType::int32, device);
    p->params = dequant_params(l, c.part_n(), p->codes.data(), p->scales.data(),
                               p->zeros.defined() ? p->zeros.data() : nullptr,
                               p->group_of_k.defined() ? p->group_of_k.data() : nullptr);
    p->out_row_stride = l.out_row_stride();
    p->alpha = l.alpha;
    p->launch = Family::launch(c, l.grouping);
    require(p->launch != nullptr, name(), ": no dequantization compiled for ", c.describe());
    return p;
  }

  void apply(const PreparedWeights& prepared, const TensorView& x, const TensorView& bias,
             const TensorView& out, Stream stream_handle) const override {
    const auto& p = static_cast<const DequantPrepared&>(prepared);
    const LayerConfig& c = p.config();
    DeviceGuard guard(p.device.index);
    const cudaStream_t stream = native(stream_handle.handle);
    const int64_t m = x.rows(), n = c.part_n();
    if (m == 0) return;

    // 1. ŵ [N, out_row_stride] in the activation type.
    Scratch w_hat(n * p.out_row_stride * 2, stream, p.device.index);
    DequantParams params = p.params;
    params.out = w_hat.get();
    p.launch(params, stream);

    // 2. y = alpha · x · ŵᵀ (+ bias) in one cuBLASLt GEMM.
    const OutputPlan plan = plan_output(
        c.act_type, c.out_type, bias.defined() ? std::optional(bias.dtype()) : std::nullopt);
    cublaslt::Problem problem;
    problem.device = p.device.index;
    problem.m = m;
    problem.n = n;
    problem.k = c.part_k();
    problem.w_row_stride = p.out_row_stride;
    problem.x_row_stride = c.part_k();
    problem.w_type = problem.x_type = cublaslt::cuda_type(c.act_type);
    problem.y_type = cublaslt::cuda_type(plan.gemm_type);
    problem.split_k_in_fp32 = plan.gemm_type != ScalarType::fp32;
    if (plan.bias_in_gemm) problem.bias_type = cublaslt::cuda_type(bias.dtype());
    cublaslt::Operands operands{w_hat.get(), x.data()};
    operands.bias = plan.bias_in_gemm ? bias.data() : nullptr;
    operands.alpha = p.alpha;
    if (plan.epilogue_from_fp32) {
      const int64_t acc_stride = round_up(n, 4);
      Scratch acc(m * acc_stride * 4, stream, p.device.index);
      problem.y_row_stride = acc_stride;
      operands.y = acc.get();
      cublaslt::matmul(problem, operands, stream);
      add_bias_and_round(acc.get(), ScalarType::fp32, acc_stride, bias, out, stream);
    } else {
      cublaslt::GemmOutput y(out, m, n, stream);
      problem.y_row_stride = y.row_stride();
      operands.y = y.data();
      cublaslt::matmul(problem, operands, stream);
      y.finish(plan.bias_in_place ? bias : TensorView());
    }
  }

  // The emulation's bound (cuda/emulation.cpp) with x exact. Each weight is
  // (value - zero point) · scale · factor in fp32 — exact for the integer formats with bf16 /
  // fp16 scales and for mxfp8, at most two fp32 roundings otherwise (the scale times the factor,
  // then times the value) — rounded once to the activation type: relative u_act = 2^-8 (bf16) or
  // 2^-11 (fp16), so (1 + u_act)(1 + 2·u32) - 1 in all. (fp16's power of two keeps every weight
  // down to 2^-28 of the layer's largest a normal fp16; finer ones lose relative precision and
  // are outside this bound.) x is used as given and products of 16-bit values are exact in fp32.
  // Then the fp32 sum of K products, the bias and, for a 16-bit bias on an fp32 output, one more
  // fp32 rounding ((K + 2)·u32; alpha is a power of two), and one rounding to the output type.
  double tolerance(const LayerConfig& c) const override {
    const double u_act = unit_roundoff(c.act_type), u32 = unit_roundoff(ScalarType::fp32);
    const double weight = (1 + u_act) * (1 + 2 * u32) - 1;
    return weight + static_cast<double>(c.part_k() + 2) * u32 + unit_roundoff(c.out_type);
  }

 private:
  const KernelInfo info_{Family::kName, Provider::cuda, Family::kFamily};
};

}  // namespace qlinear::cuda::detail
