// Every threshold of the CUDA platform's selection in one place: the token limits of the composite
// plans of the kernel list (src/core/kernel_list.cpp). Each line cites the run that set it; a
// measured tuning table for the device, where one exists, overrides them.
#pragma once

#include <cstdint>

namespace qlinear::heuristics::cuda {

// The Hopper scaled-mm kernels' own GEMM (wgmma + TMA, decode tiles with the operands swapped)
// against cuBLASLt, `qlinear_gpu_bench --sm90` on the llama3-8b and llama3-70b-tp8 layers, H100,
// 2026-11-25 (bench/NOTES.md, results/h100-2026-11-25-sm90-own-vs-cublaslt-layers.json):
// per-channel fp8 and int8 win on 7 and 8 of the 8 layers at 32 tokens, block fp8 on 6 at 16 and
// on 5 at 32.
inline constexpr int64_t kFp8ScaledMmSm90MaxM = 32;
inline constexpr int64_t kInt8ScaledMmSm90MaxM = 32;
inline constexpr int64_t kFp8BlockSm90MaxM = 16;

// The mixed-input mma kernels (mma.sync; the weights streamed once per 32-token block) against
// dequantize-then-GEMM (the weights decoded to bf16 / fp16 per call, then one cuBLASLt GEMM), as a
// fraction of cuBLAS bf16 on the llama3-8b layers, H100, 2026-12-06 (issue 14's run): int4
// w4a16_mma_sm80 0.71-0.83x at M = 64 and 0.20-0.31x at M = 256, nvfp4 0.19-0.29x at M = 256;
// dequant_gemm_* 0.84-0.87x at M = 4096. Not yet measured between: by the floor model of
// bench/NOTES.md, dequantize-then-GEMM reads 0.5 and writes 2 bytes a weight more than bf16, ~0.4x
// at M = 256 and below 0.35x up to M = 128, so the mma kernels keep M <= 128. A `qlinear tune`
// table for the device replaces these with measured limits.
inline constexpr int64_t kW4a16MmaSm80MaxM = 128;
inline constexpr int64_t kW8a16MmaSm80MaxM = 128;
inline constexpr int64_t kNvfp4WeightOnlyMmaSm80MaxM = 128;
inline constexpr int64_t kMxfp8WeightOnlyMmaSm80MaxM = 128;
// W4A8 has no prefill kernel of its own yet: past the mma kernel's range the emulation runs, as it
// ran every call before (it keeps a bf16 copy of the weights: the one plan that does, until a
// W4A8 prefill kernel exists). Its limit is the other mma kernels' (the same pipeline, int8 mma at
// twice the bf16 rate); not yet timed on a GPU.
inline constexpr int64_t kW4a8IntMmaSm80MaxM = 128;

}  // namespace qlinear::heuristics::cuda
