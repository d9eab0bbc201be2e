// The Hopper scaled-mm GEMM core that fp8_scaled_mm_sm90, int8_scaled_mm_sm90 and fp8_block_sm90
// share: y[M, N] = epilogue(x_codes[M, K] · w_codes[N, K]ᵀ), 8-bit codes on both sides, K-major.
// What a kernel file hands the core (host side; the device code is in scaled_mm_sm90.cuh).
#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "qlinear/scalar_type.hpp"

namespace qlinear::cuda::sm90 {

// How the accumulator becomes the output.
enum class Scaling {
  integer,   // s8 x s8 -> exact s32 over the whole K, then (acc - z·Σw) · s_x · s_w + bias
  promoted,  // e4m3: each 128-wide K slice's sum promoted into fp32 registers, then · s_x · s_w
  block,     // e4m3: each 128-wide K slice's sum scaled by its 1x128 and 128x128 scales
};

// The epilogue in the layer's terms: token m (row of x) and feature n (row of W). A stride of 0
// broadcasts one value (per-tensor scales); null pointers skip the term.
struct ScaledMmEpilogue {
  const float* token_scale = nullptr;  // s_x: [M] or [1] (integer, promoted)
  int64_t token_scale_stride = 0;
  const float* feature_scale = nullptr;  // s_w: [N] or [1]
  int64_t feature_scale_stride = 0;
  const int32_t* token_zero = nullptr;  // azp: [M] or [1], with feature_sum = Σ_k w[n, k]
  int64_t token_zero_stride = 0;
  const int32_t* feature_sum = nullptr;
  // block: s_x [M, k_groups] row-major and s_w [ceil(N / 128), k_groups] row-major.
  const float* token_block_scale = nullptr;
  const float* feature_block_scale = nullptr;
  int64_t k_groups = 0;
  const void* bias = nullptr;  // [N]
  ScalarType bias_type = ScalarType::fp32;
  void* out = nullptr;  // [M, N] contiguous
  ScalarType out_type = ScalarType::bf16;
};

// How a call is cut into tiles: W on the wgmma's 128-row side for decode (swap), the width of the
// token side, and the number of K splits.
struct TilePlan {
  bool swap = false;
  int block_n = 128;
  int splits = 1;
  int tiles = 0;  // output tiles (each with a split-K ticket when splits > 1)
  int sms = 0;    // the SMs it was cut for: the persistent grid's size at most
};

// Decode (M <= 64): W on the 128-row side, the tokens padded to 16, 32 or 64, and K split so that
// the tiles of W cover the SMs. Otherwise 128 x 128 tiles, K split only when the tiles are fewer
// than the SMs (at least 4 slices of 128 a split).
TilePlan tile_plan(int64_t m, int64_t n, int64_t k_pitch, int sms);

// Bytes of split-K workspace a plan needs: tickets [tiles] (zeroed before the GEMM), then the
// 32-bit partial tiles.
int64_t ticket_bytes(const TilePlan& plan);
int64_t workspace_bytes(const TilePlan& plan);

struct ScaledMmCall {
  TilePlan plan;
  void* workspace = nullptr;  // workspace_bytes(plan), its tickets zeroed
  int64_t m = 0, n = 0;
  int64_t k_pitch = 0;      // codes per row of x and W (K padded to 16 bytes), zero beyond K
  const void* x = nullptr;  // x codes [M, k_pitch] (e4m3 or s8, as W)
  const CUtensorMap* weight_map = nullptr;  // W codes [N, k_pitch], from weight_map()
  ScaledMmEpilogue epilogue;
};

// The tensor map of W [n, k_pitch] (made once, in process_weights).
CUtensorMap weight_map(const void* w, int64_t n, int64_t k_pitch);

// Runs the GEMM on `stream` as call.plan says, launched so that it overlaps the kernel before it
// (the activation quantizer) until it needs that kernel's output.
void run_scaled_mm_e4m3_promoted(const ScaledMmCall& call, cudaStream_t stream);
void run_scaled_mm_e4m3_block(const ScaledMmCall& call, cudaStream_t stream);
void run_scaled_mm_s8(const ScaledMmCall& call, cudaStream_t stream);

}  // namespace qlinear::cuda::sm90
