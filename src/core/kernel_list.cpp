// Every kernel qlinear has, by its literal name with its family, platform, provider and build
// condition (kListed), then the priority lists that build them: one line per kernel, in priority
// order within each platform; the reference kernels come last on the CPU. Moving a line is a
// performance claim: cite the `qlinear bench` run.
#include "core/kernel_list.hpp"

#include <map>

#include "core/heuristics_cpu.hpp"
#include "qlinear/composite.hpp"
#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"
#include "qlinear/registry.hpp"
#if defined(QLINEAR_CPU_X86)
#include "cpu/kernels.hpp"
#endif
#if QLINEAR_WITH_ONEDNN
#include "onednn/onednn_kernels.hpp"
#endif

#ifndef QLINEAR_WITH_ONEDNN
#define QLINEAR_WITH_ONEDNN 0
#endif
#ifndef QLINEAR_WITH_CUDA
#define QLINEAR_WITH_CUDA 0
#endif
#if QLINEAR_WITH_CUDA
#include "core/heuristics_cuda.hpp"
#include "cublaslt/kernels.hpp"
#include "cuda/emulation.hpp"
#include "cuda/kernels.hpp"
#endif

namespace qlinear {
namespace {

struct BuildCondition {
  const char* needs;
  bool built;
};
constexpr BuildCondition kAlways{"nothing", true};
#if defined(QLINEAR_CPU_X86)
constexpr BuildCondition kX86{"an x86-64 build", true};
#else
constexpr BuildCondition kX86{"an x86-64 build", false};
#endif
constexpr BuildCondition kOnednn{"oneDNN (Debian's libdnnl-dev) found when configuring",
                                 QLINEAR_WITH_ONEDNN != 0};
constexpr BuildCondition kCuda{"the CUDA toolkit when configuring, QLINEAR_CUDA AUTO or ON",
                               QLINEAR_WITH_CUDA != 0};

using P = PlatformKind;

// One kernel of the catalog, built here when its condition holds.
constexpr CatalogEntry listed(const char* name, Family family, PlatformKind platform,
                              Provider provider, BuildCondition condition) {
  return {name, family, platform, provider, condition.needs, condition.built};
}

// Every kernel by its literal name, in the priority order of built_in_kernels() below (a test
// holds the two to each other: tests/core/registry_test.cpp, KernelCatalog).
constexpr CatalogEntry kListed[] = {
    listed("mixed_precision_amx_by_tokens", Family::mixed_precision, P::cpu, Provider::composite,
           kX86),
    listed("mixed_precision_amx", Family::mixed_precision, P::cpu, Provider::cpu, kX86),
    listed("mixed_precision_avx512_vnni", Family::mixed_precision, P::cpu, Provider::cpu, kX86),
    listed("mixed_precision_avx512", Family::mixed_precision, P::cpu, Provider::cpu, kX86),
    listed("mixed_precision_avx2", Family::mixed_precision, P::cpu, Provider::cpu, kX86),
    listed("mixed_precision_scalar", Family::mixed_precision, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_weight_only_amx_by_tokens", Family::nvfp4_weight_only, P::cpu,
           Provider::composite, kX86),
    listed("nvfp4_weight_only_amx", Family::nvfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_weight_only_avx512_vnni", Family::nvfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_weight_only_avx512", Family::nvfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_weight_only_avx2", Family::nvfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_weight_only_scalar", Family::nvfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_weight_only_amx_by_tokens", Family::mxfp8_weight_only, P::cpu,
           Provider::composite, kX86),
    listed("mxfp8_weight_only_amx", Family::mxfp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_weight_only_avx512_vnni", Family::mxfp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_weight_only_avx512", Family::mxfp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_weight_only_avx2", Family::mxfp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_weight_only_scalar", Family::mxfp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_weight_only_amx_by_tokens", Family::mxfp4_weight_only, P::cpu,
           Provider::composite, kX86),
    listed("mxfp4_weight_only_amx", Family::mxfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_weight_only_avx512_vnni", Family::mxfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_weight_only_avx512", Family::mxfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_weight_only_avx2", Family::mxfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_weight_only_scalar", Family::mxfp4_weight_only, P::cpu, Provider::cpu, kX86),
    listed("fp8_weight_only_amx_by_tokens", Family::fp8_weight_only, P::cpu, Provider::composite,
           kX86),
    listed("fp8_weight_only_amx", Family::fp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("fp8_weight_only_avx512_vnni", Family::fp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("fp8_weight_only_avx512", Family::fp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("fp8_weight_only_avx2", Family::fp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("fp8_weight_only_scalar", Family::fp8_weight_only, P::cpu, Provider::cpu, kX86),
    listed("fp8_scaled_mm_amx_by_tokens", Family::fp8_scaled_mm, P::cpu, Provider::composite, kX86),
    listed("fp8_scaled_mm_amx", Family::fp8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("fp8_scaled_mm_avx512_vnni", Family::fp8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("fp8_scaled_mm_avx512", Family::fp8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("fp8_scaled_mm_avx2", Family::fp8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("fp8_scaled_mm_scalar", Family::fp8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("fp8_block_amx_by_tokens", Family::fp8_block, P::cpu, Provider::composite, kX86),
    listed("fp8_block_amx", Family::fp8_block, P::cpu, Provider::cpu, kX86),
    listed("fp8_block_avx512_vnni", Family::fp8_block, P::cpu, Provider::cpu, kX86),
    listed("fp8_block_avx512", Family::fp8_block, P::cpu, Provider::cpu, kX86),
    listed("fp8_block_avx2", Family::fp8_block, P::cpu, Provider::cpu, kX86),
    listed("fp8_block_scalar", Family::fp8_block, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_amx_by_tokens", Family::nvfp4, P::cpu, Provider::composite, kX86),
    listed("nvfp4_amx", Family::nvfp4, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_avx512_vnni", Family::nvfp4, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_avx512", Family::nvfp4, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_avx2", Family::nvfp4, P::cpu, Provider::cpu, kX86),
    listed("nvfp4_scalar", Family::nvfp4, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_amx_by_tokens", Family::mxfp8, P::cpu, Provider::composite, kX86),
    listed("mxfp8_amx", Family::mxfp8, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_avx512_vnni", Family::mxfp8, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_avx512", Family::mxfp8, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_avx2", Family::mxfp8, P::cpu, Provider::cpu, kX86),
    listed("mxfp8_scalar", Family::mxfp8, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_amx_by_tokens", Family::mxfp4, P::cpu, Provider::composite, kX86),
    listed("mxfp4_amx", Family::mxfp4, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_avx512_vnni", Family::mxfp4, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_avx512", Family::mxfp4, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_avx2", Family::mxfp4, P::cpu, Provider::cpu, kX86),
    listed("mxfp4_scalar", Family::mxfp4, P::cpu, Provider::cpu, kX86),
    listed("w4a8_fp8_amx_by_tokens", Family::w4a8_fp8, P::cpu, Provider::composite, kX86),
    listed("w4a8_fp8_amx", Family::w4a8_fp8, P::cpu, Provider::cpu, kX86),
    listed("w4a8_fp8_avx512_vnni", Family::w4a8_fp8, P::cpu, Provider::cpu, kX86),
    listed("w4a8_fp8_avx512", Family::w4a8_fp8, P::cpu, Provider::cpu, kX86),
    listed("w4a8_fp8_avx2", Family::w4a8_fp8, P::cpu, Provider::cpu, kX86),
    listed("w4a8_fp8_scalar", Family::w4a8_fp8, P::cpu, Provider::cpu, kX86),
    listed("onednn_int8_const_scales", Family::int8_scaled_mm, P::cpu, Provider::onednn, kOnednn),
    listed("onednn_int8_s32_epilogue", Family::int8_scaled_mm, P::cpu, Provider::onednn, kOnednn),
    listed("int8_scaled_mm_amx_by_tokens", Family::int8_scaled_mm, P::cpu, Provider::composite,
           kX86),
    listed("int8_scaled_mm_amx", Family::int8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("int8_scaled_mm_avx512_vnni", Family::int8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("int8_scaled_mm_avx2", Family::int8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("int8_scaled_mm_scalar", Family::int8_scaled_mm, P::cpu, Provider::cpu, kX86),
    listed("w4a8_int_amx_by_tokens", Family::w4a8_int, P::cpu, Provider::composite, kX86),
    listed("w4a8_int_amx", Family::w4a8_int, P::cpu, Provider::cpu, kX86),
    listed("w4a8_int_avx512_vnni", Family::w4a8_int, P::cpu, Provider::cpu, kX86),
    listed("w4a8_int_avx2", Family::w4a8_int, P::cpu, Provider::cpu, kX86),
    listed("w4a8_int_scalar", Family::w4a8_int, P::cpu, Provider::cpu, kX86),
    listed("reference_mixed_precision", Family::mixed_precision, P::cpu, Provider::reference,
           kAlways),
    listed("reference_nvfp4_weight_only", Family::nvfp4_weight_only, P::cpu, Provider::reference,
           kAlways),
    listed("reference_mxfp8_weight_only", Family::mxfp8_weight_only, P::cpu, Provider::reference,
           kAlways),
    listed("reference_mxfp4_weight_only", Family::mxfp4_weight_only, P::cpu, Provider::reference,
           kAlways),
    listed("reference_fp8_weight_only", Family::fp8_weight_only, P::cpu, Provider::reference,
           kAlways),
    listed("reference_w4a8_int", Family::w4a8_int, P::cpu, Provider::reference, kAlways),
    listed("reference_w4a8_fp8", Family::w4a8_fp8, P::cpu, Provider::reference, kAlways),
    listed("reference_int8_scaled_mm", Family::int8_scaled_mm, P::cpu, Provider::reference,
           kAlways),
    listed("reference_fp8_scaled_mm", Family::fp8_scaled_mm, P::cpu, Provider::reference, kAlways),
    listed("reference_fp8_block", Family::fp8_block, P::cpu, Provider::reference, kAlways),
    listed("reference_nvfp4", Family::nvfp4, P::cpu, Provider::reference, kAlways),
    listed("reference_mxfp8", Family::mxfp8, P::cpu, Provider::reference, kAlways),
    listed("reference_mxfp4", Family::mxfp4, P::cpu, Provider::reference, kAlways),
    listed("w4a16_by_tokens", Family::mixed_precision, P::cuda, Provider::composite, kCuda),
    listed("w4a16_sm80_by_tokens", Family::mixed_precision, P::cuda, Provider::composite, kCuda),
    listed("w8a16_by_tokens", Family::mixed_precision, P::cuda, Provider::composite, kCuda),
    listed("w8a16_sm80_by_tokens", Family::mixed_precision, P::cuda, Provider::composite, kCuda),
    listed("nvfp4_weight_only_by_tokens", Family::nvfp4_weight_only, P::cuda, Provider::composite,
           kCuda),
    listed("nvfp4_weight_only_sm80_by_tokens", Family::nvfp4_weight_only, P::cuda,
           Provider::composite, kCuda),
    listed("mxfp8_weight_only_by_tokens", Family::mxfp8_weight_only, P::cuda, Provider::composite,
           kCuda),
    listed("mxfp8_weight_only_sm80_by_tokens", Family::mxfp8_weight_only, P::cuda,
           Provider::composite, kCuda),
    listed("mxfp4_weight_only_by_tokens", Family::mxfp4_weight_only, P::cuda, Provider::composite,
           kCuda),
    listed("mxfp4_weight_only_sm80_by_tokens", Family::mxfp4_weight_only, P::cuda,
           Provider::composite, kCuda),
    listed("fp8_weight_only_by_tokens", Family::fp8_weight_only, P::cuda, Provider::composite,
           kCuda),
    listed("w4a8_int_by_tokens", Family::w4a8_int, P::cuda, Provider::composite, kCuda),
    listed("w4a8_fp8_by_tokens", Family::w4a8_fp8, P::cuda, Provider::composite, kCuda),
    listed("fp8_scaled_mm_by_tokens", Family::fp8_scaled_mm, P::cuda, Provider::composite, kCuda),
    listed("fp8_block_by_tokens", Family::fp8_block, P::cuda, Provider::composite, kCuda),
    listed("int8_scaled_mm_by_tokens", Family::int8_scaled_mm, P::cuda, Provider::composite, kCuda),
    listed("w4a16_mma_sm80", Family::mixed_precision, P::cuda, Provider::cuda, kCuda),
    listed("w4a16_wgmma_sm90", Family::mixed_precision, P::cuda, Provider::cuda, kCuda),
    listed("w8a16_mma_sm80", Family::mixed_precision, P::cuda, Provider::cuda, kCuda),
    listed("w8a16_wgmma_sm90", Family::mixed_precision, P::cuda, Provider::cuda, kCuda),
    listed("nvfp4_weight_only_mma_sm80", Family::nvfp4_weight_only, P::cuda, Provider::cuda, kCuda),
    listed("nvfp4_weight_only_wgmma_sm90", Family::nvfp4_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("mxfp8_weight_only_mma_sm80", Family::mxfp8_weight_only, P::cuda, Provider::cuda, kCuda),
    listed("mxfp8_weight_only_wgmma_sm90", Family::mxfp8_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("mxfp4_weight_only_mma_sm80", Family::mxfp4_weight_only, P::cuda, Provider::cuda, kCuda),
    listed("mxfp4_weight_only_wgmma_sm90", Family::mxfp4_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("fp8_weight_only_mma_sm80", Family::fp8_weight_only, P::cuda, Provider::cuda, kCuda),
    listed("w4a8_int_mma_sm80", Family::w4a8_int, P::cuda, Provider::cuda, kCuda),
    listed("w4a8_fp8_mma_sm89", Family::w4a8_fp8, P::cuda, Provider::cuda, kCuda),
    listed("fp8_scaled_mm_sm90", Family::fp8_scaled_mm, P::cuda, Provider::cuda, kCuda),
    listed("fp8_block_sm90", Family::fp8_block, P::cuda, Provider::cuda, kCuda),
    listed("int8_scaled_mm_sm90", Family::int8_scaled_mm, P::cuda, Provider::cuda, kCuda),
    listed("cublaslt_fp8_scaled_mm", Family::fp8_scaled_mm, P::cuda, Provider::cublaslt, kCuda),
    listed("cublaslt_fp8_block", Family::fp8_block, P::cuda, Provider::cublaslt, kCuda),
    listed("cublaslt_int8_scaled_mm", Family::int8_scaled_mm, P::cuda, Provider::cublaslt, kCuda),
    listed("dequant_gemm_mixed_precision", Family::mixed_precision, P::cuda, Provider::cuda, kCuda),
    listed("dequant_gemm_nvfp4_weight_only", Family::nvfp4_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("dequant_gemm_mxfp8_weight_only", Family::mxfp8_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("dequant_gemm_mxfp4_weight_only", Family::mxfp4_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("dequant_gemm_fp8_weight_only", Family::fp8_weight_only, P::cuda, Provider::cuda, kCuda),
    listed("emulation_mixed_precision", Family::mixed_precision, P::cuda, Provider::cuda, kCuda),
    listed("emulation_nvfp4_weight_only", Family::nvfp4_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("emulation_mxfp8_weight_only", Family::mxfp8_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("emulation_mxfp4_weight_only", Family::mxfp4_weight_only, P::cuda, Provider::cuda,
           kCuda),
    listed("emulation_fp8_weight_only", Family::fp8_weight_only, P::cuda, Provider::cuda, kCuda),
    listed("emulation_w4a8_int", Family::w4a8_int, P::cuda, Provider::cuda, kCuda),
    listed("emulation_w4a8_fp8", Family::w4a8_fp8, P::cuda, Provider::cuda, kCuda),
    listed("emulation_int8_scaled_mm", Family::int8_scaled_mm, P::cuda, Provider::cuda, kCuda),
    listed("emulation_fp8_scaled_mm", Family::fp8_scaled_mm, P::cuda, Provider::cuda, kCuda),
    listed("emulation_fp8_block", Family::fp8_block, P::cuda, Provider::cuda, kCuda),
    listed("emulation_nvfp4", Family::nvfp4, P::cuda, Provider::cuda, kCuda),
    listed("emulation_mxfp8", Family::mxfp8, P::cuda, Provider::cuda, kCuda),
    listed("emulation_mxfp4", Family::mxfp4, P::cuda, Provider::cuda, kCuda),
};

}  // namespace

std::span<const CatalogEntry> kernel_catalog() { return kListed; }

}  // namespace qlinear

namespace qlinear::detail {

std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> built_in_kernels() {
  using P = PlatformKind;
  std::vector<std::pair<PlatformKind, std::shared_ptr<const Kernel>>> list;
  // ---- cpu
  // A composite plan first where the CPU has AMX: the _avx512_vnni kernel for a few rows, the
  // _amx kernel (the tile unit: 8x the VNNI level's int8 and bf16 multiply-adds a cycle,
  // src/bench/cpu_bench_device.cpp) from heuristics::cpu::kAmxMinRows rows on, on one copy of the
  // packed weights (the crossing timed on a Xeon with AMX: src/core/heuristics_cpu.hpp). Then
  // each ISA level's kernel alone, best first.
#if defined(QLINEAR_CPU_X86)
  const auto cpu_plan = [&](Family family, std::shared_ptr<const Kernel> vnni,
                            std::shared_ptr<const Kernel> amx) {
    list.emplace_back(P::cpu, std::make_shared<CompositeKernel>(
                                  cat(name(family), "_amx_by_tokens"),
                                  std::vector<PlanPart>{{vnni, heuristics::cpu::kAmxMinRows - 1},
                                                        {amx, kNoTokenLimit}}));
  };
  for (Family family :
       {Family::mixed_precision, Family::nvfp4_weight_only, Family::mxfp8_weight_only,
        Family::mxfp4_weight_only, Family::fp8_weight_only, Family::fp8_scaled_mm,
        Family::fp8_block, Family::nvfp4, Family::mxfp8, Family::mxfp4, Family::w4a8_fp8}) {
    const auto amx = cpu::make_dequant_kernel(family, CpuIsa::amx);
    const auto vnni = cpu::make_dequant_kernel(family, CpuIsa::avx512_vnni);
    cpu_plan(family, vnni, amx);
    list.emplace_back(P::cpu, amx);
    list.emplace_back(P::cpu, vnni);
    list.emplace_back(P::cpu, cpu::make_dequant_kernel(family, CpuIsa::avx512));
    list.emplace_back(P::cpu, cpu::make_dequant_kernel(family, CpuIsa::avx2));
    list.emplace_back(P::cpu, cpu::make_dequant_kernel(family, CpuIsa::scalar));
  }
#endif
#if QLINEAR_WITH_ONEDNN
  // int8 W8A8: oneDNN ahead of qlinear's VNNI tile, 1.17x at M = 64 and 1.26-1.36x at M = 256,
  // even at M = 1 (bench/results/2026-11-25-cpu-epyc-int8-order-quiet.json). Static activation
  // scales: one fused oneDNN call; everything else: int32 out + own epilogue. oneDNN's int8 matmul
  // takes AMX itself where the CPU has it: it stays ahead of the AMX plan.
  list.emplace_back(P::cpu, onednn::make_int8_const_scales());
  list.emplace_back(P::cpu, onednn::make_int8_s32_epilogue());
#endif
#if defined(QLINEAR_CPU_X86)
  for (Family family : {Family::int8_scaled_mm, Family::w4a8_int}) {
    const auto make = family == Family::int8_scaled_mm ? cpu::make_int8_scaled_mm_kernel
                                                       : cpu::make_w4a8_int_kernel;
    const auto amx = make(CpuIsa::amx);
    const auto vnni = make(CpuIsa::avx512_vnni);
    cpu_plan(family, vnni, amx);
    list.emplace_back(P::cpu, amx);
    list.emplace_back(P::cpu, vnni);
    list.emplace_back(P::cpu, make(CpuIsa::avx2));
    list.emplace_back(P::cpu, make(CpuIsa::scalar));
  }
#endif
  for (Family family : all_families()) list.emplace_back(P::cpu, reference::make_kernel(family));
#if QLINEAR_WITH_CUDA
  // ---- cuda
  namespace H = heuristics::cuda;
  const auto w4a16_mma = cuda::make_w4a16_mma_sm80();
  const auto w4a16_wgmma = cuda::make_w4a16_wgmma_sm90(w4a16_mma);  // reads w4a16_mma's weights
  const auto w8a16_mma = cuda::make_w8a16_mma_sm80();
  const auto w8a16_wgmma = cuda::make_w8a16_wgmma_sm90(w8a16_mma);
  const auto nvfp4_weight_only_mma = cuda::make_nvfp4_weight_only_mma_sm80();
  const auto nvfp4_weight_only_wgmma =
      cuda::make_nvfp4_weight_only_wgmma_sm90(nvfp4_weight_only_mma);
  const auto mxfp8_weight_only_mma = cuda::make_mxfp8_weight_only_mma_sm80();
  const auto mxfp8_weight_only_wgmma =
      cuda::make_mxfp8_weight_only_wgmma_sm90(mxfp8_weight_only_mma);
  const auto mxfp4_weight_only_mma = cuda::make_mxfp4_weight_only_mma_sm80();
  const auto mxfp4_weight_only_wgmma =
      cuda::make_mxfp4_weight_only_wgmma_sm90(mxfp4_weight_only_mma);
  const auto fp8_weight_only_mma = cuda::make_fp8_weight_only_mma_sm80();
  const auto w4a8_int_mma = cuda::make_w4a8_int_mma_sm80();
  const auto w4a8_fp8_mma = cuda::make_w4a8_fp8_mma_sm89();
  const auto dequant_gemm_mixed_precision = cuda::make_dequant_gemm_mixed_precision();
  const auto dequant_gemm_nvfp4_weight_only = cuda::make_dequant_gemm_nvfp4_weight_only();
  const auto dequant_gemm_mxfp8_weight_only = cuda::make_dequant_gemm_mxfp8_weight_only();
  const auto dequant_gemm_mxfp4_weight_only = cuda::make_dequant_gemm_mxfp4_weight_only();
  const auto dequant_gemm_fp8_weight_only = cuda::make_dequant_gemm_fp8_weight_only();
  const auto cublaslt_fp8_scaled_mm = cublaslt::make_fp8_scaled_mm();
  const auto cublaslt_fp8_block = cublaslt::make_fp8_block();
  const auto cublaslt_int8_scaled_mm = cublaslt::make_int8_scaled_mm();
  // The Hopper kernels run on the cuBLASLt kernels' codes.
  const auto fp8_scaled_mm_sm90 = cuda::make_fp8_scaled_mm_sm90(cublaslt_fp8_scaled_mm);
  const auto fp8_block_sm90 = cuda::make_fp8_block_sm90(cublaslt_fp8_block);
  const auto int8_scaled_mm_sm90 = cuda::make_int8_scaled_mm_sm90(cublaslt_int8_scaled_mm);
  std::map<Family, std::shared_ptr<const Kernel>> emulation;
  for (Family family : all_families()) emulation[family] = cuda::make_emulation(family);
  // The composite plans first: each part runs the calls of its token range (the limits and the
  // runs that set them: src/core/heuristics_cuda.hpp).
  const auto plan = [&](const char* name, std::vector<PlanPart> parts) {
    list.emplace_back(P::cuda, std::make_shared<CompositeKernel>(name, std::move(parts)));
  };
  // int4, int8, nvfp4, mxfp8 and mxfp4 weights on Hopper: the mma kernel for decode, the wgmma
  // kernel on the same weights, then dequantize-then-GEMM; elsewhere (or for configs the wgmma
  // kernel refuses) the _sm80 plan without it.
  plan("w4a16_by_tokens", {{w4a16_mma, H::kW4a16MmaSm80BeforeWgmmaMaxM},
                           {w4a16_wgmma, H::kW4a16WgmmaSm90MaxM},
                           {dequant_gemm_mixed_precision, kNoTokenLimit}});
  plan("w4a16_sm80_by_tokens",
       {{w4a16_mma, H::kW4a16MmaSm80MaxM}, {dequant_gemm_mixed_precision, kNoTokenLimit}});
  plan("w8a16_by_tokens", {{w8a16_mma, H::kW8a16MmaSm80BeforeWgmmaMaxM},
                           {w8a16_wgmma, H::kW8a16WgmmaSm90MaxM},
                           {dequant_gemm_mixed_precision, kNoTokenLimit}});
  plan("w8a16_sm80_by_tokens",
       {{w8a16_mma, H::kW8a16MmaSm80MaxM}, {dequant_gemm_mixed_precision, kNoTokenLimit}});
  plan("nvfp4_weight_only_by_tokens",
       {{nvfp4_weight_only_mma, H::kNvfp4WeightOnlyMmaSm80BeforeWgmmaMaxM},
        {nvfp4_weight_only_wgmma, H::kNvfp4WeightOnlyWgmmaSm90MaxM},
        {dequant_gemm_nvfp4_weight_only, kNoTokenLimit}});
  plan("nvfp4_weight_only_sm80_by_tokens", {{nvfp4_weight_only_mma, H::kNvfp4WeightOnlyMmaSm80MaxM},
                                            {dequant_gemm_nvfp4_weight_only, kNoTokenLimit}});
  plan("mxfp8_weight_only_by_tokens",
       {{mxfp8_weight_only_mma, H::kMxfp8WeightOnlyMmaSm80BeforeWgmmaMaxM},
        {mxfp8_weight_only_wgmma, H::kMxfp8WeightOnlyWgmmaSm90MaxM},
        {dequant_gemm_mxfp8_weight_only, kNoTokenLimit}});
  plan("mxfp8_weight_only_sm80_by_tokens", {{mxfp8_weight_only_mma, H::kMxfp8WeightOnlyMmaSm80MaxM},
                                            {dequant_gemm_mxfp8_weight_only, kNoTokenLimit}});
  plan("mxfp4_weight_only_by_tokens",
       {{mxfp4_weight_only_mma, H::kMxfp4WeightOnlyMmaSm80BeforeWgmmaMaxM},
        {mxfp4_weight_only_wgmma, H::kMxfp4WeightOnlyWgmmaSm90MaxM},
        {dequant_gemm_mxfp4_weight_only, kNoTokenLimit}});
  plan("mxfp4_weight_only_sm80_by_tokens", {{mxfp4_weight_only_mma, H::kMxfp4WeightOnlyMmaSm80MaxM},
                                            {dequant_gemm_mxfp4_weight_only, kNoTokenLimit}});
  plan("fp8_weight_only_by_tokens", {{fp8_weight_only_mma, H::kFp8WeightOnlyMmaSm80MaxM},
                                     {dequant_gemm_fp8_weight_only, kNoTokenLimit}});
  plan("w4a8_int_by_tokens",
       {{w4a8_int_mma, H::kW4a8IntMmaSm80MaxM}, {emulation[Family::w4a8_int], kNoTokenLimit}});
  plan("w4a8_fp8_by_tokens",
       {{w4a8_fp8_mma, H::kW4a8Fp8MmaSm89MaxM}, {emulation[Family::w4a8_fp8], kNoTokenLimit}});
  plan("fp8_scaled_mm_by_tokens",
       {{fp8_scaled_mm_sm90, H::kFp8ScaledMmSm90MaxM}, {cublaslt_fp8_scaled_mm, kNoTokenLimit}});
  plan("fp8_block_by_tokens",
       {{fp8_block_sm90, H::kFp8BlockSm90MaxM}, {cublaslt_fp8_block, kNoTokenLimit}});
  plan("int8_scaled_mm_by_tokens",
       {{int8_scaled_mm_sm90, H::kInt8ScaledMmSm90MaxM}, {cublaslt_int8_scaled_mm, kNoTokenLimit}});
  // Then every kernel alone, for the configs a plan's part refuses and to be forced by name.
  for (const auto& kernel : {w4a16_mma,
                             w4a16_wgmma,
                             w8a16_mma,
                             w8a16_wgmma,
                             nvfp4_weight_only_mma,
                             nvfp4_weight_only_wgmma,
                             mxfp8_weight_only_mma,
                             mxfp8_weight_only_wgmma,
                             mxfp4_weight_only_mma,
                             mxfp4_weight_only_wgmma,
                             fp8_weight_only_mma,
                             w4a8_int_mma,
                             w4a8_fp8_mma,
                             fp8_scaled_mm_sm90,
                             fp8_block_sm90,
                             int8_scaled_mm_sm90,
                             cublaslt_fp8_scaled_mm,
                             cublaslt_fp8_block,
                             cublaslt_int8_scaled_mm,
                             dequant_gemm_mixed_precision,
                             dequant_gemm_nvfp4_weight_only,
                             dequant_gemm_mxfp8_weight_only,
                             dequant_gemm_mxfp4_weight_only,
                             dequant_gemm_fp8_weight_only})
    list.emplace_back(P::cuda, kernel);
  // The emulation of every family: runs everything, fastest at nothing, and keeps a bf16 copy of
  // the weights (four times an int4 layer's bytes): last.
  for (Family family : all_families()) list.emplace_back(P::cuda, emulation[family]);
#endif
  return list;
}

}  // namespace qlinear::detail
