// The GPU activation quantizer against the reference's quantize_activations, code for code and
// scale for scale, for every family that quantizes activations, over the conformance configs and
// two wide layers (K = 4096: several chunks per thread, 16-byte loads; K = 20480: more chunks than
// a thread keeps in registers, read twice), M in {1, 7, 67, 300}.
//
// No difference is allowed: the kernel performs the reference's fp32 operations in the reference's
// order (IEEE division, round-to-nearest-even, the same operand order), and amax / min / max do not
// depend on the order of reduction.
#include "gpu/act_quant.hpp"

#include <gtest/gtest.h>

#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"
#include "qlinear/reference.hpp"

namespace qlinear {

void PrintTo(const LayerConfig& c, std::ostream* os) { *os << c.describe(); }

namespace {

std::vector<LayerConfig> quantizing_configs() {
  std::vector<LayerConfig> all;
  for (Family family : all_families()) {
    LayerConfig wide = default_config(family, 256, 4096);
    if (!wide.act_quant) continue;
    for (const LayerConfig& c : conformance_configs(family)) all.push_back(c);
    all.push_back(wide);
    all.push_back(default_config(family, 64, 20480));
  }
  return all;
}

Tensor to_device(const TensorView& t) {
  return t.defined() ? Tensor::copy_of(t, Device::cuda(0)) : Tensor();
}

// Byte-wise comparison of two host tensors of equal size; the first difference, if any.
std::string first_difference(const Tensor& want, const Tensor& got, std::string_view what) {
  for (int64_t i = 0; i < want.numel(); ++i)
    if (load_code(want, i) != load_code(got, i))
      return cat(what, "[", i, "]: reference code ", load_code(want, i), " (", load_value(want, i),
                 "), gpu ", load_code(got, i), " (", load_value(got, i), ")");
  return "";
}

class ActQuant : public ::testing::TestWithParam<LayerConfig> {};

TEST_P(ActQuant, MatchesReferenceCodeForCode) {
  ASSERT_FALSE(cuda_platforms().empty()) << "the gpu tests need a CUDA device";
  const LayerConfig& c = GetParam();
  const RandomLayer layer = make_random_layer(c, 5);
  const Tensor input_scale = to_device(layer.input_scale),
               input_zero_point = to_device(layer.input_zero_point);
  for (int64_t m : {1, 7, 67, 300}) {
    SCOPED_TRACE(cat(c.describe(), " M=", m));
    const int64_t k = c.part_k();
    const Tensor x = random_activations(c.act_type, std::array{m, k}, 100 + m);
    const reference::QuantizedActivations want =
        reference::quantize_activations(c, layer.weights(), x);

    // The reference's layouts: codes [M, K], scales [1] / [M] / [M, groups], zero points [1] / [M].
    const bool per_tensor = c.act_scale == Granularity::per_tensor;
    const Tensor codes = Tensor::empty(*c.act_quant, {m, k}, Device::cuda(0));
    const Tensor scales = Tensor::empty(want.scales.dtype(), want.scales.shape(), Device::cuda(0));
    const Tensor zeros =
        c.act_zero_points
            ? Tensor::empty(ScalarType::int32, want.zero_points.shape(), Device::cuda(0))
            : Tensor();
    cuda::ActQuantTarget target;
    target.codes = codes.data();
    target.codes_row_stride = k;
    target.scales = scales.data();
    target.scale_row_stride =
        per_tensor ? 0 : (want.scales.view().ndim() == 2 ? want.scales.size(1) : 1);
    target.scale_group_stride = 1;
    target.zero_points = zeros.defined() ? zeros.data_as<int32_t>() : nullptr;
    target.zero_point_row_stride = per_tensor ? 0 : 1;
    const Tensor x_dev = to_device(x);
    cuda::quantize_activations(c, x_dev, input_scale, input_zero_point, target, nullptr);

    EXPECT_EQ(first_difference(want.scales, Tensor::copy_of(scales, Device::cpu()), "scales"), "");
    if (c.act_zero_points)
      EXPECT_EQ(
          first_difference(want.zero_points, Tensor::copy_of(zeros, Device::cpu()), "zero_points"),
          "");
    EXPECT_EQ(first_difference(want.codes, Tensor::copy_of(codes, Device::cpu()), "codes"), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, ActQuant, ::testing::ValuesIn(quantizing_configs()),
                         [](const ::testing::TestParamInfo<LayerConfig>& info) {
                           return cat(name(info.param.family), "_", info.index);
                         });

}  // namespace
}  // namespace qlinear
