// nvfp4_as_fp8_block: every re-encoded weight within max(2^-4 |ŵ|, 2^-10 · block scale) of the
// NVFP4 weight (random layers of both NVFP4 families off the 128 grid; every e2m1 code under every
// finite e4m3 scale in one block), exact where the block's values fit e4m3, the layer a valid
// fp8_block layer with the NVFP4 layer's activation and output types and bias, and refusals that
// say why.
#include <gtest/gtest.h>

#include <cmath>

#include "qlinear/checkpoint.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::checkpoint {
namespace {

CheckpointLayer layer_of(const RandomLayer& r) {
  CheckpointLayer l;
  l.name = "model.layers.0.mlp.down_proj";
  l.format = "test";
  l.config = r.config;
  static_cast<LayerTensors&>(l) = r;
  if (r.config.bias) {
    l.bias = Tensor::empty(ScalarType::fp32, {r.config.part_n()});
    for (int64_t i = 0; i < r.config.part_n(); ++i) l.bias.data_as<float>()[i] = 0.5f * i;
  }
  return l;
}

// Every re-encoded weight within the bound; returns how many are exact.
int64_t expect_within_bound(const CheckpointLayer& nvfp4, const CheckpointLayer& fp8) {
  const std::vector<double> want = reference::dequantize_weights(nvfp4.config, nvfp4.weights());
  const std::vector<double> got = reference::dequantize_weights(fp8.config, fp8.weights());
  const int64_t n = nvfp4.config.part_n(), k = nvfp4.config.part_k();
  const int64_t block_cols = fp8.config.weight_scale_shape()[1];
  EXPECT_EQ(got.size(), want.size());
  int64_t exact = 0, wrong = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      const size_t i = static_cast<size_t>(r * k + c);
      const double scale = load_value(fp8.weight_scale, (r / 128) * block_cols + c / 128);
      const double error = std::fabs(got[i] - want[i]);
      exact += error == 0;
      if (!(error <= nvfp4_as_fp8_block_bound(want[i], scale)) && wrong++ < 3)
        ADD_FAILURE() << nvfp4.config.describe() << ": w[" << r << ", " << c << "] " << want[i]
                      << " re-encoded as " << got[i] << " (block scale " << scale << ")";
    }
  return exact;
}

TEST(Nvfp4AsFp8Block, RandomLayersWithinTheBound) {
  int layers = 0;
  uint64_t seed = 1;
  for (Family family : {Family::nvfp4, Family::nvfp4_weight_only})
    for (LayerConfig c : {default_config(family, 200, 336), default_config(family, 64, 128),
                          default_config(family, 300, 1024)}) {
      c.bias = layers % 2 == 0;
      if (family == Family::nvfp4_weight_only) c.act_type = c.out_type = ScalarType::fp16;
      const CheckpointLayer nvfp4 = layer_of(make_random_layer(c, ++seed));
      const CheckpointLayer fp8 = nvfp4_as_fp8_block(nvfp4);
      EXPECT_EQ(fp8.config.family, Family::fp8_block);
      EXPECT_EQ(fp8.config.act_type, c.act_type);
      EXPECT_EQ(fp8.config.out_type, c.out_type);
      EXPECT_EQ(fp8.config.bias, c.bias);
      EXPECT_EQ(fp8.config.act_quant, ScalarType::float8_e4m3fn);
      if (c.bias) EXPECT_EQ(fp8.bias.data(), nvfp4.bias.data());
      EXPECT_NE(fp8.format.find("re-encoded as 128x128 block FP8"), std::string::npos);
      expect_within_bound(nvfp4, fp8);
      ++layers;
    }
  EXPECT_EQ(layers, 6);
}

// Rows of 16: every e2m1 code under one e4m3 scale a row, the rows through every finite positive
// scale code (1 .. 126), all in one 128 x 128 block: its values span 2^-10 .. 2688, so the small
// ones meet the bound's absolute term.
TEST(Nvfp4AsFp8Block, EveryCodeUnderEveryScaleWithinTheBound) {
  LayerConfig c = default_config(Family::nvfp4_weight_only, 126, 16);
  RandomLayer r = make_random_layer(c, 7);
  for (int64_t row = 0; row < 126; ++row) {
    store_code(r.weight_scale, row, static_cast<uint32_t>(row + 1));
    for (int64_t i = 0; i < 16; ++i) store_code(r.weight, row * 16 + i, static_cast<uint32_t>(i));
  }
  *r.weight_global_scale.data_as<float>() = 1.f;
  const CheckpointLayer nvfp4 = layer_of(r);
  expect_within_bound(nvfp4, nvfp4_as_fp8_block(nvfp4));
}

// One e4m3 scale for every group and a power-of-two global: each block's values are e2m1 values
// times one power of two, which e4m3 holds, so every weight is exact.
TEST(Nvfp4AsFp8Block, ExactWhereTheValuesFit) {
  const LayerConfig c = default_config(Family::nvfp4, 160, 272);
  RandomLayer r = make_random_layer(c, 9);
  for (int64_t i = 0; i < r.weight_scale.numel(); ++i) store_value(r.weight_scale, i, 0.75);
  *r.weight_global_scale.data_as<float>() = 0.125f;
  const CheckpointLayer nvfp4 = layer_of(r);
  EXPECT_EQ(expect_within_bound(nvfp4, nvfp4_as_fp8_block(nvfp4)), c.n * c.k);
}

TEST(Nvfp4AsFp8Block, RefusalsSayWhy) {
  const CheckpointLayer mxfp8 =
      layer_of(make_random_layer(default_config(Family::mxfp8_weight_only, 64, 128), 3));
  try {
    nvfp4_as_fp8_block(mxfp8);
    ADD_FAILURE() << "an MXFP8 layer was re-encoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only an NVFP4 layer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mxfp8_weight_only"), std::string::npos) << e.what();
  }
  RandomLayer r = make_random_layer(default_config(Family::nvfp4, 64, 128), 4);
  *r.weight_global_scale.data_as<float>() = std::nanf("");
  try {
    nvfp4_as_fp8_block(layer_of(r));
    ADD_FAILURE() << "a NaN global scale was re-encoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weight_global_scale"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qlinear::checkpoint
