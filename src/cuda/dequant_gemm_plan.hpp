// The host side of the dequant_gemm kernels (cuda/detail/dequant_gemm.cuh): the layout their
// dequantization reads, and the choices made around it. CUDA-free, so that CI tests it without a
// GPU (tests/gpu/dequant_gemm_host_test.cpp).
//
// A run is the 16 bytes of codes one thread dequantizes: 32 4-bit or 16 8-bit codes, consecutive
// along K in one row of W. The codes keep their canonical form; only each row is padded to whole
// runs (zero bytes), so that every run is one aligned 16-byte load:
//
//   codes  [N, runs_per_row · 16 bytes]          canonical codes, rows padded to whole runs
//   ŵ      [N, runs_per_row · run_length]        activation type, written per call; the GEMM reads
//                                                its first K columns (rows 32 / 64-byte aligned)
//   scales [N, groups]                           fp32 (integer formats: converted from bf16 / fp16
//                                                / fp32), or the canonical e4m3 / e8m0 codes
//   zeros  [N, groups]                           canonical uint8 zero-point codes (uint4 / uint8)
//   group_of_k [runs_per_row · run_length]       per_position runs only: the group of each K (pad
//   0)
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "qlinear/kernel.hpp"

namespace qlinear::cuda {

inline constexpr int kRunBytes = 16;
constexpr int run_length(int code_bits) { return kRunBytes * 8 / code_bits; }

// How a run finds its scales and zero points.
enum class RunGrouping : uint8_t {
  one_group,     // the run lies in one group: per channel, or groups a multiple of the run
  two_groups,    // the run is two whole groups (nvfp4's 16 in a run of 32; groups of half a run)
  per_position,  // a group per K position, from group_of_k: act order (g_idx) and other group sizes
};
RunGrouping run_grouping(const LayerConfig& config);

// The exponent of the power of two the weights are dequantized with (ŵ · 2^shift; the GEMM's
// alpha is 2^-shift, exact). bf16 has fp32's range: 0. fp16 (largest finite 65504, normal from
// 2^-14): the shift that brings the largest possible |ŵ|, `max_abs_weight`, into [2^14, 2^15), so
// that no weight overflows and every weight down to 2^-28 of the largest stays a normal fp16.
int weight_exponent_shift(ScalarType act_type, double max_abs_weight);

// Where cuBLASLt writes the product and who adds the bias. cuBLASLt's 16-bit GEMMs write their own
// type or fp32, and its BIAS epilogue takes a bias of the output's type; otherwise the GEMM writes
// fp32 and qlinear's epilogue adds the bias and rounds once into the output, except for fp32
// output, where it adds a 16-bit bias in place.
struct OutputPlan {
  ScalarType gemm_type;        // cuBLASLt's D: the output's type, or fp32 for qlinear's epilogue
  bool bias_in_gemm = false;   // cuBLASLt's BIAS epilogue
  bool bias_in_place = false;  // qlinear's epilogue adds the bias to the (fp32) output
  bool epilogue_from_fp32 = false;  // qlinear's epilogue rounds the fp32 product into the output
};
OutputPlan plan_output(ScalarType act_type, ScalarType out_type,
                       std::optional<ScalarType> bias_type);

// Everything process_weights uploads but the codes (dequant_codes), built on the host from the
// canonical tensors (on any device).
struct DequantLayout {
  int code_bits = 0, runs_per_row = 0;
  int64_t code_row_bytes = 0;  // runs_per_row · kRunBytes
  RunGrouping grouping = RunGrouping::one_group;
  int groups = 0;               // columns of the scale grid
  int runs_per_group = 0;       // one_group: group_size / run_length (per channel: runs_per_row)
  std::vector<uint8_t> scales;  // [N, groups]: fp32 (integer formats) or one-byte codes
  std::vector<uint8_t> zeros;   // [N, groups] or empty
  std::vector<int32_t> group_of_k;  // per_position: [runs_per_row · run_length], else empty
  uint32_t zero_default = 0;        // integer formats without zero points: 8 (uint4b8) or 128
  uint32_t code_xor = 0;            // int8: 0x80808080 (code ^ 0x80 = code + 128, unsigned), else 0
  int shift = 0;                    // see weight_exponent_shift
  float factor = 1.f;  // multiplies every scale: 2^shift, times the global scale (nvfp4)
  float alpha = 1.f;   // the GEMM's: 2^-shift
  // Elements of a row of ŵ.
  int64_t out_row_stride() const {
    return static_cast<int64_t>(runs_per_row) * run_length(code_bits);
  }
};
DequantLayout dequant_layout(const LayerConfig& config, const LayerWeights& weights);
// The codes [N, code_row_bytes] on `device`, each row of `weight` (canonical codes, on any device)
// copied where it lies (a 2-D copy on the GPU: a load moves no weight through the host), the
// padding zero.
Tensor dequant_codes(const LayerConfig& config, const DequantLayout& layout,
                     const TensorView& weight, Device device);

}  // namespace qlinear::cuda
