// The oneDNN int8 kernels against the reference: the conformance configs of int8_scaled_mm at
// several M (1, a small odd M, one past a tile, one past several), plus the variants those
// configs leave out (static scales with bias and fp32 output, fp16/fp32 activations, odd K).
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "qlinear/conformance.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
using G = Granularity;

const std::vector<int64_t> kMs{1, 7, 67, 300};
const std::vector<std::string> kKernels{"onednn_int8_const_scales", "onednn_int8_s32_epilogue"};

const Kernel& kernel_named(const std::string& name) {
  const Kernel* k = Registry::global().find(name);
  if (k == nullptr) throw std::runtime_error("kernel not registered: " + name);
  return *k;
}

// Skips (saying why) when the host cannot run the oneDNN int8 kernels.
#define SKIP_UNLESS_SUPPORTED(kernel)                                                     \
  if (Verdict v_ = (kernel).supported(host_platform()); !v_)                              \
  GTEST_SKIP() << (kernel).name() << " does not run on " << host_platform().str() << ": " \
               << v_.reason()

std::vector<LayerConfig> extra_configs() {
  std::vector<LayerConfig> configs;
  const auto add = [&](int64_t n, int64_t k, auto&& adjust) {
    LayerConfig c = default_config(Family::int8_scaled_mm, n, k);
    adjust(c);
    validate(c);
    configs.push_back(c);
  };
  add(93, 157, [](LayerConfig& c) {  // static, per-channel weights, bias, fp32 out
    c.act_scale = G::per_tensor, c.act_scale_static = true, c.bias = true, c.out_type = T::fp32;
  });
  add(61, 250, [](LayerConfig& c) {  // static azp with bias, fp16 activations
    c.act_scale = G::per_tensor, c.act_scale_static = true, c.act_zero_points = true;
    c.bias = true, c.act_type = T::fp16;
  });
  add(130, 33, [](LayerConfig& c) { c.act_type = T::fp32, c.out_type = T::fp32, c.bias = true; });
  add(17, 1000, [](LayerConfig& c) {  // dynamic per-tensor azp, fp16 out
    c.act_scale = G::per_tensor, c.act_zero_points = true, c.out_type = T::fp16;
    c.weight_scale = G::per_tensor;
  });
  return configs;
}

class OnednnInt8 : public ::testing::TestWithParam<std::string> {};

TEST_P(OnednnInt8, MatchesReferenceOnConformanceAndExtraConfigs) {
  const Kernel& kernel = kernel_named(GetParam());
  SKIP_UNLESS_SUPPORTED(kernel);
  std::vector<LayerConfig> configs = conformance_configs(Family::int8_scaled_mm);
  for (const LayerConfig& c : extra_configs()) configs.push_back(c);
  int ran = 0;
  for (const LayerConfig& c : configs) {
    if (!kernel.can_implement(c)) continue;
    for (int64_t m : kMs) {
      const ConformanceResult r = run_against_reference(kernel, {c, m, 11}, Device::cpu());
      EXPECT_TRUE(r.pass) << c.describe() << " M=" << m << ": error " << r.max_error
                          << " > tolerance " << r.tolerance << "; " << r.detail;
      ++ran;
    }
  }
  EXPECT_GE(ran, 4 * static_cast<int>(kMs.size())) << "too few configs implemented";
}

TEST_P(OnednnInt8, SeveralThreadsGiveTheResultOfOne) {
  const Kernel& kernel = kernel_named(GetParam());
  SKIP_UNLESS_SUPPORTED(kernel);
  LayerConfig c = default_config(Family::int8_scaled_mm, 200, 320);
  c.act_scale = G::per_tensor, c.act_scale_static = true, c.bias = true;
  const RandomLayer layer = make_random_layer(c, 5);
  const QuantizedLinear linear(c, layer.weights(), kernel);
  const Tensor bias = random_activations(T::fp32, std::array<int64_t, 1>{200}, 6);
  // Different M per thread, so primitives for several shapes are created concurrently.
  std::vector<Tensor> xs, expected, got;
  for (int t = 0; t < 6; ++t) {
    xs.push_back(random_activations(T::bf16, std::array<int64_t, 2>{1 + 13 * t, 320}, 7 + t));
    expected.push_back(linear.forward(xs.back(), bias));
    got.push_back(Tensor::empty(T::bf16, {1 + 13 * t, 200}));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) linear.forward_into(xs[t], got[t], bias);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 6; ++t)
    EXPECT_EQ(0, std::memcmp(expected[t].data(), got[t].data(), expected[t].nbytes()))
        << "thread " << t;
}

INSTANTIATE_TEST_SUITE_P(Kernels, OnednnInt8, ::testing::ValuesIn(kKernels),
                         [](const auto& info) { return info.param; });

TEST(OnednnInt8Selection, StaticScalesGoToTheFusedKernelDynamicToTheEpilogue) {
  LayerConfig c = default_config(Family::int8_scaled_mm, 256, 256);
  if (!kernel_named("onednn_int8_s32_epilogue").supported(host_platform()))
    GTEST_SKIP() << "oneDNN int8 kernels do not run on " << host_platform().str();
  // Between the two oneDNN kernels: qlinear's own cpu kernels are disabled, wherever the list
  // puts them.
  ChooseOptions only_onednn;
  for (const Kernel* k : Registry::global().kernels(PlatformKind::cpu))
    if (k->info().provider == Provider::cpu) only_onednn.disabled.push_back(k->name());
  const auto chosen = [&] {
    return Registry::global().choose(c, host_platform(), only_onednn).kernel->name();
  };
  EXPECT_EQ("onednn_int8_s32_epilogue", chosen());
  c.act_scale = G::per_tensor, c.act_scale_static = true;
  EXPECT_EQ("onednn_int8_const_scales", chosen());
  c.out_type = T::fp16;
  EXPECT_EQ("onednn_int8_s32_epilogue", chosen());
}

TEST(OnednnInt8Selection, BelowVnniTheKernelsSayWhy) {
  for (const std::string& name : kKernels) {
    const Verdict v = kernel_named(name).supported(parse_target("cpu:avx512"));
    EXPECT_FALSE(v);
    EXPECT_NE(v.reason().find("avx512_vnni"), std::string::npos) << v.reason();
  }
}

}  // namespace
}  // namespace qlinear
