// Every threshold of the CUDA platform's selection in one place: the token limits of the composite
// plans of the kernel list (src/core/kernel_list.cpp). Each line cites the run that set it; a
// measured tuning table for the device, where one exists, overrides them.
#pragma once

#include <cstdint>

namespace qlinear::heuristics::cuda {

// The Hopper scaled-mm kernels' own GEMM (wgmma + TMA, decode tiles with the operands swapped)
// against cuBLASLt on the same codes, `qlinear tune` on the llama3-8b layers, H100, 2026-12-06
// (tuning/h100-llama3-8b.json, bench/NOTES.md "The H100 tuning table"): the crossing lies at 32 to
// 64 tokens for per-channel fp8 and int8 and at 8 to 32 for block fp8. With these limits the plans
// lose at most 18 % (fp8, M = 64), 3 % (block fp8) and, for int8, 52 % where cuBLASLt is slow on
// N = 28672 at 256 to 512 tokens (the table covers that layer).
inline constexpr int64_t kFp8ScaledMmSm90MaxM = 32;
inline constexpr int64_t kInt8ScaledMmSm90MaxM = 32;
inline constexpr int64_t kFp8BlockSm90MaxM = 32;

// The mixed-input mma kernels (mma.sync; the weights streamed once per 32-token block) against
// dequantize-then-GEMM (the weights decoded to bf16 per call, then one cuBLASLt GEMM), the same
// run: int4 and nvfp4 cross at 64 to 128 tokens (128 loses nothing on the 4 + 3 layers timed, 64
// loses up to 40 %), mxfp8 at 32 to 64 (64 loses at most 18 %, 128 up to 108 %). int8 weights
// (w8a16), timed later (H100, 2026-12-07, below): the mma kernel beats dequantize-then-GEMM at 64
// tokens on all 4 llama3-8b layers and loses at 256 on all 4, so int4's limit holds for them. (On
// Hopper each hands over to its wgmma kernel earlier, below.)
inline constexpr int64_t kW4a16MmaSm80MaxM = 128;
// int4 on Hopper: the wgmma kernel with the weights converted in registers (w4a16_wgmma_sm90)
// against the mma kernel and dequantize-then-GEMM, `qlinear tune` on the llama3-8b int4 layers,
// H100, 2026-12-06 (tuning/h100-llama3-8b.json, bench/NOTES.md "The Hopper mixed-input core"): the
// mma kernel wins to 16 tokens on all 4 layers, 32 on one (a limit of 16 loses at most 5 % there,
// 32 would lose 18 % on N = 28672); wgmma from 32 or 64 to 512 or 1024 (at 1024 within 2 % of
// dequantize-then-GEMM either way: this limit loses at most 1.7 %), dequantize-then-GEMM from
// 2048 (wgmma 1.2-1.3x slower there).
inline constexpr int64_t kW4a16MmaSm80BeforeWgmmaMaxM = 16;
inline constexpr int64_t kW4a16WgmmaSm90MaxM = 1024;
inline constexpr int64_t kW8a16MmaSm80MaxM = 128;
// int8 (w8a16) and mxfp8 weight-only on Hopper: their wgmma kernels against the mma kernels and
// dequantize-then-GEMM, `qlinear bench --kernel all` on the llama3-8b layers, H100, 2026-12-07
// (bench/results/h100-2026-12-07-w8a16-every-kernel-llama3-8b.json and ...-mxfp8-weight-only-...,
// bench/NOTES.md "Weight-only plans on Hopper: w8a16 and mxfp8 on their wgmma kernels"). int8:
// the mma kernel wins at 16 tokens on all 4 layers (by 4-23 %), wgmma at 64 and 256 on all 4
// (1.1-1.9x the mma kernel at 64; 1.2-1.6x dequantize-then-GEMM at 256), dequantize-then-GEMM
// at 1024 on all 4 (wgmma 1.3-1.4x slower). mxfp8: the mma kernel wins at 16 on 3 layers (a tie
// on the fourth; wgmma 6 % faster on N = 28672), wgmma at 64 on all 4 (1.3-2.1x the next),
// dequantize-then-GEMM at 256 on 3 of 4 (wgmma up to 1.21x slower; 8 % faster on K = 14336).
// The e4m3 codes cost the wgmma kernel's producer more than int8's (0.36x cuBLAS bf16 at
// 1024-4096 tokens against int8's 0.51-0.54x), hence its earlier handoff. After the wgmma
// core's consumer changes (H100, 2026-12-07, eleventh session: bench/results/h100-2026-12-07-
// mxfp8_weight_only-default-whole-preset-table-every-kernel.json) mxfp8's wgmma kernel is
// 1.15-1.27x faster and wins at 256 tokens on all 4 layers (0.46-0.66x cuBLAS bf16, dequantize-
// then-GEMM 0.42-0.50x), dequantize-then-GEMM still at 1024: its limit is now int8's.
inline constexpr int64_t kW8a16MmaSm80BeforeWgmmaMaxM = 16;
inline constexpr int64_t kW8a16WgmmaSm90MaxM = 256;
inline constexpr int64_t kMxfp8WeightOnlyMmaSm80BeforeWgmmaMaxM = 16;
inline constexpr int64_t kMxfp8WeightOnlyWgmmaSm90MaxM = 256;
inline constexpr int64_t kNvfp4WeightOnlyMmaSm80MaxM = 128;
// nvfp4 on Hopper: nvfp4_weight_only_wgmma_sm90 against its mma kernel and dequantize-then-GEMM,
// `qlinear bench --kernel all` on the llama3-8b nvfp4 layers, H100, 2026-12-07
// (bench/results/h100-2026-12-07-nvfp4-weight-only-every-kernel-llama3-8b.json, bench/NOTES.md
// "Decode with programmatic dependent launch, nvfp4 on the wgmma core"): the mma kernel wins at 16
// tokens on all 4 layers, wgmma at 64 on all 4 and to 1024 (a tie on 4096x4096), dequantize-then-
// GEMM at 4096 (1.4x): int4's crossings, so int4's limits.
inline constexpr int64_t kNvfp4WeightOnlyMmaSm80BeforeWgmmaMaxM = kW4a16MmaSm80BeforeWgmmaMaxM;
inline constexpr int64_t kNvfp4WeightOnlyWgmmaSm90MaxM = kW4a16WgmmaSm90MaxM;
inline constexpr int64_t kMxfp8WeightOnlyMmaSm80MaxM = 64;
// The formats added 2026-12-06 (fourth session): mxfp4 streams nvfp4's bytes (4-bit codes, fewer
// scale bytes) and takes its limit; fp8 weight-only streams mxfp8's e4m3 codes and takes its
// limit. Timed on the H100 2026-12-07 (bench/results/h100-2026-12-07-mxfp4-weight-only-... and
// ...-fp8-weight-only-every-kernel-llama3-8b.json): each mma kernel beats dequantize-then-GEMM at
// 64 tokens on all 4 llama3-8b layers (mxfp4 1.6-2.3x, fp8 1.04-1.45x) and loses at 256 on all 4
// (mxfp4 1.5-2.0x slower, fp8 2.2-2.9x): both limits lie in the crossing measured.
inline constexpr int64_t kMxfp4WeightOnlyMmaSm80MaxM = kNvfp4WeightOnlyMmaSm80MaxM;
// mxfp4 on Hopper: mxfp4_weight_only_wgmma_sm90 (nvfp4's wgmma path with the e8m0 scales in the
// fragment, one multiply a register where nvfp4 has two) against its mma kernel and dequantize-
// then-GEMM, `qlinear tune` on the llama3-8b mxfp4 layers, H100, 2026-12-07 (thirteenth session;
// bench/results/h100-2026-12-07-mxfp4-weight-only-tune.log): the mma kernel wins to 16 tokens on
// N = 4096 and 6144 (by 7-10 % at 16), to 8 on N = 28672 and K = 14336 (16 loses 5-23 % there);
// wgmma from there to 8192 tokens on all 4 (1.0-1.1x dequantize-then-GEMM at 4096-8192, 3-4x at
// 256); the limits of the longest layers follow the tuning table.
inline constexpr int64_t kMxfp4WeightOnlyMmaSm80BeforeWgmmaMaxM = 16;
inline constexpr int64_t kMxfp4WeightOnlyWgmmaSm90MaxM = 8192;
inline constexpr int64_t kFp8WeightOnlyMmaSm80MaxM = kMxfp8WeightOnlyMmaSm80MaxM;
// W4A8 has no prefill kernel of its own yet: past the mma kernel's range the emulation runs, as it
// ran every call before (it keeps a bf16 copy of the weights: the one plan that does, until a
// W4A8 prefill kernel exists; `qlinear tune` times it for these layers because this plan runs
// it). int8 activations, H100, 2026-12-07 (bench/results/h100-2026-12-07-w4a8_int-default-
// every-kernel.json, the llama3-8b layers): the mma kernel beats the emulation at 64 tokens on 3
// of 4 layers (a tie on N = 28672) and loses at 256 on all 4 (1.6-3.2x slower); the lines cross
// at ~64-100 tokens, so 64 (128 would lose up to 1.5x on N = 28672).
inline constexpr int64_t kW4a8IntMmaSm80MaxM = 64;
// W4A8-FP8's mma kernel against its emulation (H100, 2026-12-06, the llama3-8b layers,
// bench/results/h100-2026-12-06-w4a8-fp8-first-run.json): 0.64-0.88x of its time at M = 16,
// 1.10-1.38x at M = 64; between the two the lines cross at 30 (qkv), 34 (o), 42 (gate_up) and 52
// (down) tokens: the smallest, rounded to the token block of 32.
inline constexpr int64_t kW4a8Fp8MmaSm89MaxM = 32;

}  // namespace qlinear::heuristics::cuda
