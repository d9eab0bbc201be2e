// The cpu provider's kernels: each one (one per ISA level) against the reference on every
// conformance config at M = 1, 7, 67 and 300; skipped, with the reason, where this machine lacks
// its ISA level. Plus: bad calls get errors, several threads on one layer agree with one thread.
// The _amx kernels run twice: on the AMX unit where the CPU has one, and everywhere at the
// avx512_vnni level as <family>_amx_model, their tile instructions run by the scalar model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <thread>

#include "cpu/convert.hpp"
#include "cpu/kernels.hpp"
#include "qlinear/composite.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/reference.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

// The <family>_amx_model kernels (not registered) of every family with an _amx kernel.
const std::vector<std::shared_ptr<const Kernel>>& amx_model_kernels() {
  static const auto kernels = [] {
    std::vector<std::shared_ptr<const Kernel>> list;
    for (Family family : all_families()) {
      if (family == Family::int8_scaled_mm || family == Family::w4a8_int)
        list.push_back(cpu::make_int8_amx_model_kernel(family));
      else
        list.push_back(cpu::make_dequant_amx_model_kernel(family));
    }
    return list;
  }();
  return kernels;
}

std::vector<std::string> cpu_kernel_names() {
  std::vector<std::string> names;
  for (const Kernel* k : Registry::global().kernels(PlatformKind::cpu))
    if (k->info().provider == Provider::cpu) names.push_back(k->name());
  for (const auto& k : amx_model_kernels()) names.push_back(k->name());
  return names;
}

const Kernel& kernel_named(const std::string& name) {
  if (const Kernel* k = Registry::global().find(name)) return *k;
  for (const auto& k : amx_model_kernels())
    if (k->name() == name) return *k;
  throw Error(cat("no kernel ", name));
}

class CpuKernel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const Kernel& k = kernel_named(GetParam());
    if (Verdict v = k.supported(host_platform()); !v)
      GTEST_SKIP() << GetParam() << " does not run here (" << host_platform().str()
                   << "): " << v.reason();
  }
};

TEST_P(CpuKernel, MatchesTheReference) {
  const Kernel& kernel = kernel_named(GetParam());
  int ran = 0;
  std::vector<LayerConfig> configs = conformance_configs(kernel.family());
  // fp32 outputs too: their tolerance is the kernel's own arithmetic, not a bf16 rounding.
  for (LayerConfig config : conformance_configs(kernel.family())) {
    config.out_type = ScalarType::fp32;
    configs.push_back(config);
  }
  for (const LayerConfig& config : configs) {
    if (!kernel.can_implement(config)) continue;
    for (int64_t m : {int64_t{1}, int64_t{7}, int64_t{67}, int64_t{300}}) {
      const ConformanceResult r = run_against_reference(kernel, {config, m, 11}, Device::cpu());
      EXPECT_TRUE(r.pass) << config.describe() << " M=" << m << ": error " << r.max_error
                          << " > tolerance " << r.tolerance << "; " << r.detail;
      ++ran;
    }
  }
  EXPECT_GT(ran, 0) << GetParam() << " implements none of its family's conformance configs";
}

// Shapes off every grid the kernels use: one output column, 17 columns, odd K where the format
// allows it (4-bit weights pack K in pairs), K past a 512-position step; M past a 32-row block.
TEST_P(CpuKernel, OddShapesMatchTheReference) {
  const Kernel& kernel = kernel_named(GetParam());
  const LayerConfig base = conformance_configs(kernel.family()).front();
  const bool packed = info(base.weight_type).bits == 4;
  const int64_t unit = base.group_size > 0 ? base.group_size : (packed ? 2 : 1);
  for (const auto [n, k] : {std::pair<int64_t, int64_t>{1, 3 * unit},
                            {17, 5 * unit},
                            {33, 9 * unit},
                            {20, (600 / unit + 1) * unit}}) {
    LayerConfig config = base;
    config.n = n, config.k = k;
    if (!kernel.can_implement(config)) continue;
    for (int64_t m : {int64_t{1}, int64_t{9}, int64_t{33}}) {
      const ConformanceResult r = run_against_reference(kernel, {config, m, 5}, Device::cpu());
      EXPECT_TRUE(r.pass) << config.describe() << " M=" << m << ": error " << r.max_error
                          << " > tolerance " << r.tolerance << "; " << r.detail;
    }
  }
}

// The mixed-precision variants the conformance list leaves out: every weight type with and without
// act order, zero points with act order, each activation and output type, a tensor-parallel part.
TEST(CpuMixedPrecision, VariantsMatchTheReference) {
  using T = ScalarType;
  for (const std::string& name : cpu_kernel_names()) {
    const Kernel& kernel = kernel_named(name);
    if (kernel.family() != Family::mixed_precision || !kernel.supported(host_platform())) continue;
    int variant = 0;
    for (T weight : {T::uint4b8, T::uint4, T::uint8b128, T::uint8, T::int8})
      for (bool act_order : {false, true})
        for (T act : {T::bf16, T::fp16, T::fp32}) {
          LayerConfig c = default_config(Family::mixed_precision, 50, 448);
          c.weight_type = weight;
          c.zero_points = weight == T::uint4 || weight == T::uint8;
          c.act_order = act_order;
          c.group_size = act_order || variant % 2 ? 64 : 32;
          c.act_type = act;
          c.out_type = variant % 3 == 0 ? T::fp32 : act;
          c.weight_scale_type = variant % 4 == 0 ? T::fp32 : T::bf16;
          c.bias = variant % 2 == 1;
          if (variant % 5 == 0) c.partition_n = 34, c.partition_k = 192;
          ++variant;
          if (!kernel.can_implement(c)) continue;
          for (int64_t m : {int64_t{11}, int64_t{40}}) {  // 40: the _amx tiles' rows
            const ConformanceResult r = run_against_reference(
                kernel, {c, m, static_cast<uint64_t>(40 + variant)}, Device::cpu());
            EXPECT_TRUE(r.pass) << name << " " << c.describe() << " M=" << m << ": error "
                                << r.max_error << " > tolerance " << r.tolerance << "; "
                                << r.detail;
          }
        }
  }
}

TEST_P(CpuKernel, SeveralThreadsGiveTheSameResultAsOne) {
  const Kernel& kernel = kernel_named(GetParam());
  for (const LayerConfig& config : conformance_configs(kernel.family())) {
    if (!kernel.can_implement(config)) continue;
    const RandomLayer layer = make_random_layer(config, 21);
    const QuantizedLinear linear(config, layer.weights(), kernel);
    const Tensor x =
        random_activations(config.act_type, std::array<int64_t, 2>{37, config.part_k()}, 22);
    Tensor bias;
    if (config.bias)
      bias = random_activations(ScalarType::fp32, std::array<int64_t, 1>{config.part_n()}, 23);
    const Tensor alone = linear.forward(x, bias);
    std::vector<Tensor> outs(4);
    std::vector<std::thread> threads;
    for (auto& o : outs)
      threads.emplace_back([&] {
        for (int i = 0; i < 5; ++i) o = linear.forward(x, bias);
      });
    for (auto& t : threads) t.join();
    for (const auto& o : outs)
      EXPECT_EQ(0, std::memcmp(o.data(), alone.data(), static_cast<size_t>(alone.nbytes())))
          << config.describe();
    return;  // one config is enough: the kernels share their driver across configs
  }
}

TEST_P(CpuKernel, BadCallsGetErrors) {
  const Kernel& kernel = kernel_named(GetParam());
  for (const LayerConfig& config : conformance_configs(kernel.family())) {
    if (!kernel.can_implement(config) || config.bias || info(config.act_type).bits != 16) continue;
    const RandomLayer layer = make_random_layer(config, 31);
    const QuantizedLinear linear(config, layer.weights(), kernel);
    const int64_t k = config.part_k(), n = config.part_n();
    Tensor out = Tensor::empty(config.out_type, {4, n});
    const ScalarType other =
        config.act_type == ScalarType::bf16 ? ScalarType::fp16 : ScalarType::bf16;
    EXPECT_THROW(
        linear.forward_into(random_activations(other, std::array<int64_t, 2>{4, k}, 1), out),
        Error);
    Tensor raw = Tensor::empty(ScalarType::uint8, {2 * 4 * k + 2});
    const TensorView misaligned(static_cast<char*>(raw.data()) + 1, config.act_type, {4, k});
    EXPECT_THROW(linear.forward_into(misaligned, out), Error);
    const Tensor x = random_activations(config.act_type, std::array<int64_t, 2>{8, k}, 2);
    const int64_t shape[] = {4, k};
    const int64_t strides[] = {2 * k, 1};
    const TensorView strided(x.view().base(), config.act_type, shape, Device::cpu(), strides);
    EXPECT_THROW(linear.forward_into(strided, out), Error);
    return;
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, CpuKernel, ::testing::ValuesIn(cpu_kernel_names()),
                         [](const auto& info) { return info.param; });

// The fast float8 / float4 rounding of the activation quantizers agrees with the scalar-type
// table.
TEST(CpuConvert, RoundingMatchesTheTypeTable) {
  for (double v = -500; v <= 500; v += 0.0078125 * 1.37) {
    for (double scale : {1.0, 0x1p-8, 0x1p-12}) {
      const auto f = static_cast<float>(v * scale);
      EXPECT_EQ(cpu::round_to_e4m3(f), static_cast<float>(round_to(ScalarType::float8_e4m3fn, f)))
          << f;
      EXPECT_EQ(cpu::round_to_e2m1(f), static_cast<float>(round_to(ScalarType::float4_e2m1f, f)))
          << f;
    }
  }
}

// Every float8_e4m3fn weight code (NaN aside) through every cpu kernel that decodes them: one-hot
// rows of x pick single weights, so each output is one decoded code, exactly.
TEST(CpuDecode, EveryE4m3WeightCodeIsExact) {
  constexpr int64_t n = 16, k = 256;
  LayerConfig c = default_config(Family::mxfp8_weight_only, n, k);
  c.out_type = ScalarType::fp32;
  const auto code_at = [](int64_t row, int64_t col) {
    const auto code = static_cast<uint32_t>((col + 37 * row) % 256);
    return (code & 0x7f) == 0x7f ? 0u : code;  // S.1111.111 is NaN
  };
  Tensor weight = Tensor::empty(ScalarType::float8_e4m3fn, {n, k});
  Tensor scale = Tensor::empty(ScalarType::float8_e8m0fnu, {n, k / 32});
  for (int64_t i = 0; i < n * k; ++i) store_code(weight, i, code_at(i / k, i % k));
  for (int64_t i = 0; i < scale.numel(); ++i) store_code(scale, i, 127);  // 2^0
  LayerWeights w;
  w.weight = weight, w.weight_scale = scale;
  Tensor x = Tensor::empty(ScalarType::bf16, {k, k});
  for (int64_t i = 0; i < k * k; ++i) store_value(x, i, i / k == i % k ? 1.0 : 0.0);
  int checked = 0;
  for (const std::string& name : cpu_kernel_names()) {
    const Kernel& kernel = kernel_named(name);
    if (kernel.family() != c.family || !kernel.supported(host_platform())) continue;
    const QuantizedLinear linear(c, w, kernel);
    const Tensor y = linear.forward(x);
    for (int64_t m = 0; m < k; ++m)
      for (int64_t j = 0; j < n; ++j)
        ASSERT_EQ(load_value(y, m * n + j), decode(ScalarType::float8_e4m3fn, code_at(j, m)))
            << name << ": code " << code_at(j, m);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// Every one-byte weight scale code of a 4-bit family (scale codes 0 .. 255 for which `valid`)
// through every cpu kernel of it: all weight codes 1.0 (e2m1 code 2), the global scale 1, and
// one-hot rows of x picking single K positions, so each output is one decoded scale, exactly.
// The tiles read such scales as they are packed (SegmentScaleCode): M = 256 runs the pair tiles,
// 4 rows at a time the register tiles of decode.
void expect_every_scale_code_exact(Family family, const std::function<bool(uint32_t)>& valid) {
  constexpr int64_t n = 16, k = 512;
  LayerConfig c = default_config(family, n, k);
  c.out_type = ScalarType::fp32;
  const RandomLayer layer = make_random_layer(c, 3);
  const LayerWeights w = layer.weights();
  std::vector<uint32_t> codes;
  for (uint32_t code = 0; code < 256; ++code)
    if (valid(code)) codes.push_back(code);
  for (int64_t i = 0; i < w.weight.numel(); ++i) store_code(w.weight, i, 2);
  for (int64_t i = 0; i < w.weight_scale.numel(); ++i)
    store_code(w.weight_scale, i, codes[static_cast<size_t>(i) % codes.size()]);
  if (w.weight_global_scale.defined()) store_value(w.weight_global_scale, 0, 1.0);
  const int64_t groups = w.weight_scale.size(1), group = k / groups;
  const auto one_hot = [&](int64_t first, int64_t rows) {
    Tensor x = Tensor::empty(ScalarType::bf16, {rows, k});
    for (int64_t i = 0; i < rows * k; ++i) store_value(x, i, i / k + first == i % k ? 1.0 : 0.0);
    return x;
  };
  int checked = 0;
  for (const std::string& name : cpu_kernel_names()) {
    const Kernel& kernel = kernel_named(name);
    if (kernel.family() != family || !kernel.supported(host_platform())) continue;
    const QuantizedLinear linear(c, w, kernel);
    for (const int64_t rows : {int64_t{256}, int64_t{4}})
      for (int64_t first = 0; first < k; first += rows) {
        const Tensor y = linear.forward(one_hot(first, rows));
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < n; ++j) {
            const int64_t position = first + r, scale = j * groups + position / group;
            ASSERT_EQ(load_value(y, r * n + j), load_value(w.weight_scale, scale))
                << name << ": scale code " << load_code(w.weight_scale, scale) << ", M = " << rows;
          }
      }
    ++checked;
  }
  EXPECT_GT(checked, 0) << qlinear::name(family);
}

// NVFP4's float8_e4m3fn group scales, every code but NaN (subnormals and negatives among them).
TEST(CpuWeightScales, EveryE4m3ScaleCodeIsExact) {
  expect_every_scale_code_exact(Family::nvfp4_weight_only,
                                [](uint32_t code) { return (code & 0x7f) != 0x7f; });
}

// OCP MX e8m0 scales 2^-126 .. 2^127 (codes 1 .. 254: the packing keeps them as bytes; 2^-127 and
// NaN make it fall back to fp32, see MxScalesOutsideBf16AreNotFolded).
TEST(CpuWeightScales, EveryNormalE8m0ScaleCodeIsExact) {
  expect_every_scale_code_exact(Family::mxfp4_weight_only,
                                [](uint32_t code) { return code != 0 && code != 0xff; });
}

// Every cpu kernel of c's family that runs here on (w, x) against the oracle, element by element.
void expect_every_cpu_kernel_matches(const LayerConfig& c, const LayerWeights& w, const Tensor& x) {
  const int64_t m = x.size(0), n = c.part_n(), k = c.part_k();
  const std::vector<double> w_hat = reference::dequantize_weights(c, w);
  const std::vector<double> x_hat = reference::activations_as_used(c, w, x);
  const std::vector<double> want = reference::linear_f64(x_hat, w_hat, m, n, k, Tensor());
  const std::vector<double> terms = reference::magnitude_f64(x_hat, w_hat, m, n, k, Tensor());
  int checked = 0;
  for (const std::string& name : cpu_kernel_names()) {
    const Kernel& kernel = kernel_named(name);
    if (kernel.family() != c.family || !kernel.supported(host_platform())) continue;
    const Tensor y = QuantizedLinear(c, w, kernel).forward(x);
    for (int64_t i = 0; i < m * n; ++i)
      ASSERT_LE(std::fabs(load_value(y, i) - want[i]), kernel.tolerance(c) * terms[i])
          << name << ": row " << i / n << ", column " << i % n;
    ++checked;
  }
  EXPECT_GT(checked, 0) << name(c.family);
}

// The int8 packing takes whole quads of K positions as units of the canonical codes (a transpose)
// where K and the groups are multiples of 4, else one code at a time: both, with a partial last
// tile, against the oracle (the odd shapes above give int8_scaled_mm only K % 4 != 0).
TEST(CpuInt8Packing, QuadRunsAndSingleCodesMatchTheReference) {
  for (const auto [n, k] : {std::pair<int64_t, int64_t>{17, 132}, {5, 260}, {20, 130}}) {
    const LayerConfig c = default_config(Family::int8_scaled_mm, n, k);
    const RandomLayer layer = make_random_layer(c, 11);
    expect_every_cpu_kernel_matches(
        c, layer.weights(), random_activations(c.act_type, std::array<int64_t, 2>{9, k}, 12));
  }
}

// OCP MX activations enter the tiles times their group scales where that is exact in bf16, row by
// row (fold_mx_group_scales); rows of activations near 2^-120 keep their scales. Both kinds of row
// in one call (M = 20, past two blocks of 8), every cpu kernel of mxfp8 and mxfp4 against the
// oracle.
TEST(CpuActivationScales, MxRowsOutsideBf16KeepTheirGroupScales) {
  for (Family family : {Family::mxfp8, Family::mxfp4}) {
    const LayerConfig c = default_config(family, 40, 256);
    const RandomLayer layer = make_random_layer(c, 3);
    const int64_t k = c.part_k();
    Tensor x = random_activations(c.act_type, std::array<int64_t, 2>{20, k}, 4);
    for (int64_t i = 0; i < x.numel(); ++i)
      if (i / k % 7 == 3) store_value(x, i, load_value(x, i) * 0x1p-120);
    expect_every_cpu_kernel_matches(c, layer.weights(), x);
  }
}

// OCP MX weight scales 2^e outside -117 <= e <= 118 make some code x scale products leave bf16's
// normal range: the _vnni pair tile then keeps its per-segment scales instead of folding them into
// the codes (MixedTileArgs::fold_scales): folded, every product of a layer whose scales are all
// 2^-127 would be a bf16 subnormal, which vdpbf16ps reads as 0. Output fp32 (the results are fp32
// subnormals), M = 20 (the pair tile).
TEST(CpuWeightScales, MxScalesOutsideBf16AreNotFolded) {
  for (Family family : {Family::mxfp4_weight_only, Family::mxfp4, Family::mxfp8_weight_only}) {
    LayerConfig c = default_config(family, 40, 256);
    c.out_type = ScalarType::fp32;
    const RandomLayer layer = make_random_layer(c, 5);
    const LayerWeights w = layer.weights();
    for (int64_t i = 0; i < w.weight_scale.numel(); ++i)
      store_code(w.weight_scale, i, 0);  // e8m0: 2^(code - 127)
    expect_every_cpu_kernel_matches(
        c, w, random_activations(c.act_type, std::array<int64_t, 2>{20, c.part_k()}, 6));
  }
}

// CPUs with AVX-512 VNNI but no BF16 (Cascade Lake, Ice Lake) are at the avx512 level: the int8
// tiles (VNNI alone) run there and are chosen, the bf16 tiles do not; a named target (or a cap) at
// avx512 has no VNNI.
TEST(CpuPlatform, VnniWithoutBf16RunsTheInt8Tiles) {
  Platform vnni_only = parse_target("cpu:avx512");
  vnni_only.cpu.avx512_vnni = true;
  EXPECT_TRUE(kernel_named("int8_scaled_mm_avx512_vnni").supported(vnni_only));
  EXPECT_TRUE(kernel_named("w4a8_int_avx512_vnni").supported(vnni_only));
  EXPECT_FALSE(kernel_named("mixed_precision_avx512_vnni").supported(vnni_only));
  EXPECT_FALSE(kernel_named("w4a8_int_amx").supported(vnni_only));
  EXPECT_EQ(Registry::global()
                .choose(default_config(Family::w4a8_int, 256, 256), vnni_only)
                .kernel->name(),
            "w4a8_int_avx512_vnni");
  const Verdict plain =
      kernel_named("int8_scaled_mm_avx512_vnni").supported(parse_target("cpu:avx512"));
  EXPECT_FALSE(plain);
  EXPECT_NE(plain.reason().find("VNNI"), std::string::npos) << plain.reason();
}

// The AMX plans: the VNNI kernel below kAmxMinRows rows, the AMX kernel from there, on the AMX
// kernel's packing (one copy: the VNNI tiles read it). Here with the AMX tiles run by the model,
// across the boundary; and as registered, chosen where the CPU has AMX, with both parts named.
TEST(CpuAmxPlan, BothPartsOnOneCopyOfTheWeightsAcrossTheBoundary) {
  if (!host_platform().cpu.avx512_vnni || !host_platform().cpu.avx512_bf16)
    GTEST_SKIP() << "the VNNI tiles need AVX-512 VNNI and BF16";
  for (Family family : {Family::mixed_precision, Family::fp8_block, Family::w4a8_int}) {
    const auto vnni = Registry::global().find(cat(name(family), "_avx512_vnni"), PlatformKind::cpu);
    ASSERT_NE(vnni, nullptr);
    const auto model = family == Family::w4a8_int ? cpu::make_int8_amx_model_kernel(family)
                                                  : cpu::make_dequant_amx_model_kernel(family);
    const CompositeKernel plan("plan", {{vnni, 15}, {model, kNoTokenLimit}});
    const LayerConfig c = conformance_configs(family).front();
    const RandomLayer layer = make_random_layer(c, 3);
    const auto prepared = model->process_weights(c, layer.weights(), Device::cpu());
    EXPECT_EQ(model->weights_for(*vnni, prepared), prepared) << name(family);
    for (int64_t m : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{40}}) {
      const ConformanceResult r = run_against_reference(plan, {c, m, 21}, Device::cpu());
      EXPECT_TRUE(r.pass) << name(family) << " M=" << m << ": error " << r.max_error << " > "
                          << r.tolerance << "; " << r.detail;
    }
  }
  Platform amx = host_platform();
  amx.cpu.isa = CpuIsa::amx;
  const Choice choice =
      Registry::global().choose(default_config(Family::mixed_precision, 256, 256), amx);
  ASSERT_EQ(choice.kernel->name(), "mixed_precision_amx_by_tokens");
  EXPECT_EQ(choice.kernel_for(15).name(), "mixed_precision_avx512_vnni");
  EXPECT_EQ(choice.kernel_for(16).name(), "mixed_precision_amx");
}

// AMX kernels need a CPU with AMX tiles and the kernel's permission to use them.
TEST(CpuPlatform, AmxAvailability) {
  const CpuFeatures& f = host_platform().cpu;
  if (!f.amx_tile)
    GTEST_SKIP() << "no AMX on this CPU (" << f.brand << "): AMX paths untested here";
  EXPECT_TRUE(f.amx_permitted) << "the kernel refused XTILEDATA permission";
}

}  // namespace
}  // namespace qlinear
