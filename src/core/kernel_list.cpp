// The priority lists: one line per kernel, in priority order within each platform; the reference
// kernels come last on the CPU. Moving a line is a performance claim: cite the `qlinear bench` run.
#include "core/kernel_list.hpp"

#include "qlinear/reference.hpp"
#if defined(QLINEAR_CPU_X86)
#include "cpu/kernels.hpp"
#endif
#if QLINEAR_WITH_ONEDNN
#include "onednn/onednn_kernels.hpp"
#endif

#if QLINEAR_WITH_CUDA
#include "cublaslt/kernels.hpp"
#include "cuda/emulation.hpp"
#include "cuda/kernels.hpp"
#endif

namespace qlinear::detail {

std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> built_in_kernels() {
  using P = PlatformKind;
  std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> list;
  // ---- cpu
  // The _amx kernels first: from kAmxMinRows rows on they multiply on the AMX tile unit (8x the
  // VNNI level's int8 and bf16 multiply-adds a cycle, src/bench/cpu_bench_device.cpp), below it
  // they run the _avx512_vnni tiles. Not yet timed on an AMX machine (none since they exist).
#if defined(QLINEAR_CPU_X86)
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mixed_precision, CpuIsa::amx));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mixed_precision, CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mixed_precision, CpuIsa::avx512));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mixed_precision, CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mixed_precision, CpuIsa::scalar));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4_weight_only, CpuIsa::amx));
  list.emplace_back(P::cpu,
                    cpu::make_dequant_kernel(Family::nvfp4_weight_only, CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4_weight_only, CpuIsa::avx512));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4_weight_only, CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4_weight_only, CpuIsa::scalar));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8_weight_only, CpuIsa::amx));
  list.emplace_back(P::cpu,
                    cpu::make_dequant_kernel(Family::mxfp8_weight_only, CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8_weight_only, CpuIsa::avx512));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8_weight_only, CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8_weight_only, CpuIsa::scalar));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_scaled_mm, CpuIsa::amx));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_scaled_mm, CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_scaled_mm, CpuIsa::avx512));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_scaled_mm, CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_scaled_mm, CpuIsa::scalar));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_block, CpuIsa::amx));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_block, CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_block, CpuIsa::avx512));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_block, CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::fp8_block, CpuIsa::scalar));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4, CpuIsa::amx));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4, CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4, CpuIsa::avx512));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4, CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::nvfp4, CpuIsa::scalar));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8, CpuIsa::amx));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8, CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8, CpuIsa::avx512));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8, CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_dequant_kernel(Family::mxfp8, CpuIsa::scalar));
#endif
#if QLINEAR_WITH_ONEDNN
  // int8 W8A8: oneDNN ahead of qlinear's VNNI tile, 1.17x at M = 64 and 1.26-1.36x at M = 256,
  // even at M = 1 (bench/results/2026-11-25-cpu-epyc-int8-order-quiet.json). Static activation
  // scales: one fused oneDNN call; everything else: int32 out + own epilogue.
  list.emplace_back(P::cpu, onednn::make_int8_const_scales());
  list.emplace_back(P::cpu, onednn::make_int8_s32_epilogue());
#endif
#if defined(QLINEAR_CPU_X86)
  // oneDNN's int8 matmul takes AMX itself where the CPU has it: it stays ahead.
  list.emplace_back(P::cpu, cpu::make_int8_scaled_mm_kernel(CpuIsa::amx));
  list.emplace_back(P::cpu, cpu::make_int8_scaled_mm_kernel(CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_int8_scaled_mm_kernel(CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_int8_scaled_mm_kernel(CpuIsa::scalar));
  list.emplace_back(P::cpu, cpu::make_w4a8_int_kernel(CpuIsa::amx));
  list.emplace_back(P::cpu, cpu::make_w4a8_int_kernel(CpuIsa::avx512_vnni));
  list.emplace_back(P::cpu, cpu::make_w4a8_int_kernel(CpuIsa::avx2));
  list.emplace_back(P::cpu, cpu::make_w4a8_int_kernel(CpuIsa::scalar));
#endif
  for (Family family : all_families()) list.emplace_back(P::cpu, reference::make_kernel(family));
#if QLINEAR_WITH_CUDA
  // ---- cuda
  list.emplace_back(P::cuda, cuda::make_w4a16_mma_sm80());
  list.emplace_back(P::cuda, cuda::make_fp8_scaled_mm_sm90());
  list.emplace_back(P::cuda, cuda::make_fp8_block_sm90());
  list.emplace_back(P::cuda, cuda::make_int8_scaled_mm_sm90());
  list.emplace_back(P::cuda, cublaslt::make_fp8_scaled_mm());
  list.emplace_back(P::cuda, cublaslt::make_fp8_block());
  list.emplace_back(P::cuda, cublaslt::make_int8_scaled_mm());
  // The emulation of every family: runs everything, fastest at nothing; last but for the kernels
  // that wait below.
  for (Family family : all_families()) list.emplace_back(P::cuda, cuda::make_emulation(family));
  // Registered after the emulation until a device run passes their tests and `qlinear bench`
  // measures them: forceable by name, run by `qlinear check` and the gpu tests, never chosen yet.
  list.emplace_back(P::cuda, cuda::make_w8a16_mma_sm80());
  list.emplace_back(P::cuda, cuda::make_mxfp8_weight_only_mma_sm80());
  list.emplace_back(P::cuda, cuda::make_nvfp4_weight_only_mma_sm80());
  list.emplace_back(P::cuda, cuda::make_w4a8_int_mma_sm80());
  list.emplace_back(P::cuda, cuda::make_dequant_gemm_mixed_precision());
  list.emplace_back(P::cuda, cuda::make_dequant_gemm_nvfp4_weight_only());
  list.emplace_back(P::cuda, cuda::make_dequant_gemm_mxfp8_weight_only());
#endif
  return list;
}

}  // namespace qlinear::detail
