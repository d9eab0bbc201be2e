// fp8_weight_only_mma_sm80: float8_e4m3fn weights with an fp32 scale per tensor or per output
// channel × bf16/fp16 activations on tensor cores, for sm_80 and later: FP8 checkpoints served on
// GPUs without FP8 tensor cores (W8A16, as Marlin's FP8 path serves them). The mixed-input
// pipeline of cuda/detail/mixed_input_mma_sm80.cuh with MXFP8's e4m3 codes
// (cuda/detail/mxfp8_weights.cuh) and one fp32 scale a row.
//
// Exactness: every e4m3 value is exact in bf16 and fp16, so the mma sums exact products in fp32;
// the row's scale is applied once, in fp32, to the fp32 sum of each K slice (one "group" a row,
// the whole of K).
#include "cuda/detail/mxfp8_weights.cuh"
#include "cuda/kernels.hpp"

namespace qlinear::cuda {
namespace {

struct Fp8 : detail::E4m3Fragments, detail::Fp32Scales {
  static constexpr const char* kName = "fp8_weight_only_mma_sm80";
  static constexpr Family kFamily = Family::fp8_weight_only;

  // fp32 [padded_n]: the tensor's scale on every row, or each row's; padding rows 0.
  static void prepare_scales(const LayerConfig& c, const LayerWeights& w, int64_t padded_n,
                             Device device, detail::Prepared& out) {
    const Tensor given = Tensor::copy_of(w.weight_scale, Device::cpu());
    const bool per_tensor = c.weight_scale == Granularity::per_tensor;
    std::vector<float> scales(static_cast<size_t>(padded_n), 0.f);
    for (int64_t r = 0; r < c.part_n(); ++r)
      scales[r] = static_cast<float>(load_value(given, per_tensor ? 0 : r));
    out.scales = detail::to_device(scales, ScalarType::fp32, device);
    out.groups = 1;
    out.group_size = out.padded_k;
  }
};

}  // namespace

std::shared_ptr<const Kernel> make_fp8_weight_only_mma_sm80() {
  return std::make_shared<detail::MixedInputMmaSm80<Fp8>>();
}

}  // namespace qlinear::cuda
