// nvfp4_as_fp8_block: every re-encoded weight within max(2^-4 |ŵ|, 2^-10 · block scale) of the
// NVFP4 weight (random layers of both NVFP4 families off the 128 grid; every e2m1 code under every
// finite e4m3 scale in one block), exact where the block's values fit e4m3, the layer a valid
// fp8_block layer with the NVFP4 layer's activation and output types and bias, and refusals that
// say why. serve_on: an nvfp4 layer on Ada and Hopper targets is served so, and the served
// config's reference is within the stated rule of the NVFP4 layer's x · Ŵᵀ, propagated to the
// outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "qlinear/checkpoint.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/platform.hpp"
#include "qlinear/reference.hpp"
#include "qlinear/registry.hpp"

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

// ---- serving ---------------------------------------------------------------------------------

// QLINEAR_NVFP4_AS_FP8_BLOCK set for one scope, then put back as it was.
class ServingEnvironment {
 public:
  explicit ServingEnvironment(const char* value) {
    if (const char* old = std::getenv(kName)) old_ = old;
    ::setenv(kName, value, 1);
  }
  ~ServingEnvironment() {
    if (old_.empty())
      ::unsetenv(kName);
    else
      ::setenv(kName, old_.c_str(), 1);
  }
  ServingEnvironment(const ServingEnvironment&) = delete;
  ServingEnvironment& operator=(const ServingEnvironment&) = delete;

 private:
  static constexpr const char* kName = "QLINEAR_NVFP4_AS_FP8_BLOCK";
  std::string old_;
};

std::vector<double> decoded(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = load_value(t, i);
  return v;
}

// y [M, N] of the layer by the kernel named, as float64.
std::vector<double> run_kernel(const CheckpointLayer& layer, const Tensor& x,
                               const std::string& kernel) {
  ChooseOptions options;
  options.force = kernel;
  options.use_environment = false;
  const QuantizedLinear linear(layer.config, layer.weights(), Device::cpu(), options);
  return decoded(linear.forward(x, layer.bias));
}

// x · Ŵᵀ + bias in float64: the NVFP4 layer's weights, x as given (not quantized).
std::vector<double> ideal(const CheckpointLayer& nvfp4, const std::vector<double>& x, int64_t m) {
  const std::vector<double> w = reference::dequantize_weights(nvfp4.config, nvfp4.weights());
  return reference::linear_f64(x, w, m, nvfp4.config.n, nvfp4.config.k, nvfp4.bias);
}

// The served layer's error bound per output, from the rule the serving reason states:
//   y' - y = Σ_k x̂_k (ŵ'_k - ŵ_k) + (x̂_k - x_k) ŵ_k, so
//   |y' - y| <= Σ_k (|x_k| + δ_k) β_k + δ_k |ŵ_k|, then one rounding to the output type,
// with β_k = max(2^-4 |ŵ_k|, 2^-10 · block scale) (nvfp4_as_fp8_block_bound) and δ_k the e4m3
// rounding of x per 1 x 128, s = amax / 448: δ_k = max(2^-4 |x_k|, 2^-10 s) (half an e4m3 ulp,
// or half its subnormal step), plus 2^-20 |x_k| for s and x / s being fp32.
std::vector<double> served_bound(const CheckpointLayer& nvfp4, const CheckpointLayer& served,
                                 const std::vector<double>& x, int64_t m,
                                 const std::vector<double>& y_ideal) {
  const int64_t n = nvfp4.config.n, k = nvfp4.config.k;
  const std::vector<double> w = reference::dequantize_weights(nvfp4.config, nvfp4.weights());
  const int64_t block_cols = served.config.weight_scale_shape()[1];
  std::vector<double> delta(x.size());
  for (int64_t row = 0; row < m; ++row)
    for (int64_t g = 0; g < k; g += 128) {
      double amax = 0;
      for (int64_t c = g; c < std::min(k, g + 128); ++c)
        amax = std::fmax(amax, std::fabs(x[row * k + c]));
      for (int64_t c = g; c < std::min(k, g + 128); ++c) {
        const double v = std::fabs(x[row * k + c]);
        delta[row * k + c] =
            std::fmax(std::ldexp(v, -4), std::ldexp(amax / 448, -10)) + std::ldexp(v, -20);
      }
    }
  const double out_ulp = std::ldexp(1.0, -info(served.config.out_type).mantissa_bits - 1);
  std::vector<double> bound(static_cast<size_t>(m * n));
  for (int64_t row = 0; row < m; ++row)
    for (int64_t col = 0; col < n; ++col) {
      double b = 0;
      for (int64_t c = 0; c < k; ++c) {
        const double wv = w[col * k + c];
        const double beta = nvfp4_as_fp8_block_bound(
            wv, load_value(served.weight_scale, (col / 128) * block_cols + c / 128));
        const double dx = delta[row * k + c];
        b += (std::fabs(x[row * k + c]) + dx) * beta + dx * std::fabs(wv);
      }
      const size_t i = static_cast<size_t>(row * n + col);
      bound[i] = b + out_ulp * (std::fabs(y_ideal[i]) + b);
    }
  return bound;
}

// An nvfp4 (W4A4) layer off the 128 grid (N = 200, K = 400: K in NVFP4's steps of 16) served on
// sm_90a is fp8_block, its reason stating the rule; the served config's reference is within the
// rule's bound of x · Ŵᵀ at every output, and nearer to it than the checkpoint's own W4A4
// reference, whose x is rounded to e2m1 per 16.
TEST(ServeNvfp4AsFp8Block, ReferenceWithinTheStatedBound) {
  LayerConfig c = default_config(Family::nvfp4, 200, 400);
  c.bias = true;
  const CheckpointLayer nvfp4 = layer_of(make_random_layer(c, 21));
  const CheckpointLayer served = serve_on(nvfp4, parse_target("cuda:sm_90a"));
  ASSERT_EQ(served.config.family, Family::fp8_block) << served.format;
  EXPECT_EQ(served.config.n, 200);
  EXPECT_EQ(served.config.k, 400);
  EXPECT_FALSE(served.input_scale.defined());
  for (const char* part : {"served as fp8_block", "exact where a block's values fit e4m3",
                           "max(2^-4 |w|, 2^-10 * block scale)", "per 1x128 to e4m3"})
    EXPECT_NE(served.format.find(part), std::string::npos) << part << " not in " << served.format;
  expect_within_bound(nvfp4, served);

  const int64_t m = 5;
  const Tensor x = random_activations(c.act_type, std::vector<int64_t>{m, c.k}, 22);
  const std::vector<double> xs = decoded(x);
  const std::vector<double> want = ideal(nvfp4, xs, m);
  const std::vector<double> got = run_kernel(served, x, "reference_fp8_block");
  const std::vector<double> w4a4 = run_kernel(nvfp4, x, "reference_nvfp4");
  const std::vector<double> bound = served_bound(nvfp4, served, xs, m, want);
  double worst = 0, served_error = 0, w4a4_error = 0;
  int wrong = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double error = std::fabs(got[i] - want[i]);
    worst = std::fmax(worst, error / bound[i]);
    served_error = std::fmax(served_error, error);
    w4a4_error = std::fmax(w4a4_error, std::fabs(w4a4[i] - want[i]));
    if (!(error <= bound[i]) && wrong++ < 3)
      ADD_FAILURE() << "y[" << i / 200 << ", " << i % 200 << "] = " << got[i] << ", x · Ŵᵀ "
                    << want[i] << ": error " << error << " > bound " << bound[i];
  }
  EXPECT_GT(worst, 0);  // the bound is not vacuous: some error is there to measure
  EXPECT_LT(served_error, w4a4_error);
  RecordProperty("worst_error_over_bound", std::to_string(worst));
}

// Where the weights fit e4m3 (one e4m3 scale, a power-of-two global) and x is e4m3 under a
// per-128 scale of 1 (448 leads each 1 x 128), the served layer's reference is the NVFP4 weights'
// W4A16 reference, bit for bit.
TEST(ServeNvfp4AsFp8Block, ExactWhereWeightsAndActivationsFit) {
  LayerConfig c = default_config(Family::nvfp4, 200, 400);
  RandomLayer r = make_random_layer(c, 23);
  for (int64_t i = 0; i < r.weight_scale.numel(); ++i) store_value(r.weight_scale, i, 0.75);
  *r.weight_global_scale.data_as<float>() = 0.125f;
  const CheckpointLayer nvfp4 = layer_of(r);
  const CheckpointLayer served = serve_on(nvfp4, parse_target("cuda:sm_90"));
  ASSERT_EQ(served.config.family, Family::fp8_block);
  EXPECT_EQ(expect_within_bound(nvfp4, served), c.n * c.k);

  const int64_t m = 3;
  const Tensor e4m3 =
      random_activations(ScalarType::float8_e4m3fn, std::vector<int64_t>{m, c.k}, 24);
  Tensor x = Tensor::empty(c.act_type, {m, c.k});
  for (int64_t i = 0; i < x.numel(); ++i)
    store_value(x, i, (i % c.k) % 128 == 0 ? 448.0 : load_value(e4m3, i));
  CheckpointLayer weight_only = nvfp4;
  weight_only.config = default_config(Family::nvfp4_weight_only, c.n, c.k);
  weight_only.config.act_type = c.act_type, weight_only.config.out_type = c.out_type;
  weight_only.input_scale = Tensor();
  EXPECT_EQ(run_kernel(served, x, "reference_fp8_block"),
            run_kernel(weight_only, x, "reference_nvfp4_weight_only"));
}

// Where it applies: nvfp4 on sm_89 .. sm_9x; not on sm_80 (no FP8 tensor cores), sm_100a (FP4
// ones) or a CPU; nvfp4_weight_only only when opted in; QLINEAR_NVFP4_AS_FP8_BLOCK=off keeps
// both, and a forced nvfp4 kernel keeps the layer as loaded.
TEST(ServeNvfp4AsFp8Block, WhereAndWhen) {
  const CheckpointLayer w4a4 =
      layer_of(make_random_layer(default_config(Family::nvfp4, 64, 128), 25));
  const CheckpointLayer w4a16 =
      layer_of(make_random_layer(default_config(Family::nvfp4_weight_only, 64, 128), 26));
  for (const char* target : {"cuda:sm_89", "cuda:sm_90", "cuda:sm_90a"}) {
    EXPECT_EQ(serve_on(w4a4, parse_target(target)).config.family, Family::fp8_block) << target;
    EXPECT_EQ(serve_on(w4a16, parse_target(target)).config.family, Family::nvfp4_weight_only)
        << target;
  }
  for (const char* target : {"cuda:sm_80", "cuda:sm_100a", "cpu:avx2", "cpu"})
    EXPECT_EQ(serve_on(w4a4, parse_target(target)).config.family, Family::nvfp4) << target;
  const Platform hopper = parse_target("cuda:sm_90a");
  EXPECT_EQ(serve_on(w4a4, hopper, "reference_nvfp4").config.family, Family::nvfp4);
  {
    const ServingEnvironment all("all");
    const CheckpointLayer served = serve_on(w4a16, hopper);
    EXPECT_EQ(served.config.family, Family::fp8_block);
    EXPECT_NE(served.format.find("leaves in 16 bits"), std::string::npos) << served.format;
    expect_within_bound(w4a16, served);
  }
  {
    const ServingEnvironment off("off");
    EXPECT_EQ(serve_on(w4a4, hopper).config.family, Family::nvfp4);
  }
  {
    const ServingEnvironment bad("yes");
    try {
      serve_on(w4a4, hopper);
      ADD_FAILURE() << "QLINEAR_NVFP4_AS_FP8_BLOCK=yes was taken";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("off"), std::string::npos) << e.what();
    }
  }
}

// A tensor-parallel shard is served after the split (qlinear/parallel.hpp): shards of 200 rows
// (N = 400 over two ranks by columns) or 208 columns (K = 416 by rows), which would cut the whole
// layer's 128 x 128 blocks, are re-encoded on their own grid, within the bound.
TEST(ServeNvfp4AsFp8Block, ShardsOffTheBlockGrid) {
  LayerConfig c = default_config(Family::nvfp4, 400, 416);
  const CheckpointLayer nvfp4 = layer_of(make_random_layer(c, 28));
  const Platform hopper = parse_target("cuda:sm_90a");
  for (Split split : {Split::columns, Split::rows})
    for (int rank = 0; rank < 2; ++rank) {
      const CheckpointLayer shard = split_layer(nvfp4, {split, rank, 2});
      const CheckpointLayer served = serve_on(shard, hopper);
      ASSERT_EQ(served.config.family, Family::fp8_block) << name(split) << " " << rank;
      EXPECT_EQ(served.config.part_n(), shard.config.part_n());
      EXPECT_EQ(served.config.part_k(), shard.config.part_k());
      expect_within_bound(shard, served);
    }
}

// serving_config's fp8_block config is the one nvfp4_as_fp8_block makes, partitions included.
TEST(ServeNvfp4AsFp8Block, ConfigMatchesTheReEncoding) {
  for (Family family : {Family::nvfp4, Family::nvfp4_weight_only}) {
    LayerConfig c = default_config(family, 256, 512);
    c.partition_n = 128;
    c.bias = true;
    c.act_type = c.out_type = ScalarType::fp16;
    const Serving s = serving_config(c, parse_target("cuda:sm_90a"), {Nvfp4AsFp8Block::all});
    const CheckpointLayer re = nvfp4_as_fp8_block(layer_of(make_random_layer(c, 27)));
    EXPECT_EQ(s.config.describe(), re.config.describe());
    EXPECT_EQ(s.config.partition_n, re.config.partition_n);
    EXPECT_EQ(s.config.partition_k, re.config.partition_k);
    EXPECT_EQ(s.config.bias, re.config.bias);
  }
}

}  // namespace
}  // namespace qlinear::checkpoint
