// Selection: priority order, rejections with reasons, forcing, disabling, named targets, and
// kernels registered from outside the library.
#include "qlinear/registry.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "core/kernel_list.hpp"
#include "outside_kernel.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/reference.hpp"

namespace qlinear {
namespace {

const Family kMp = Family::mixed_precision;

TEST(Registry, FirstFittingKernelWinsAndEarlierOnesSayWhy) {
  Registry r;
  r.register_kernel(std::make_shared<OutsideKernel>("picky", kMp, any_platform, only_group_128),
                    PlatformKind::cpu);
  r.register_kernel(std::make_shared<OutsideKernel>("hopper_only", kMp, needs_sm90),
                    PlatformKind::cpu);
  r.register_kernel(std::make_shared<OutsideKernel>("general", kMp, any_platform),
                    PlatformKind::cpu);
  r.register_kernel(
      std::make_shared<OutsideKernel>("other_family", Family::fp8_block, any_platform),
      PlatformKind::cpu);

  LayerConfig c = default_config(kMp, 256, 512);
  Choice choice = r.choose(c, host_platform());
  EXPECT_EQ(choice.kernel->name(), "picky");
  EXPECT_TRUE(choice.rejected.empty());

  c.group_size = 64;
  choice = r.choose(c, host_platform());
  EXPECT_EQ(choice.kernel->name(), "general");
  ASSERT_EQ(choice.rejected.size(), 2u);
  EXPECT_EQ(choice.rejected[0].kernel, "picky");
  EXPECT_NE(choice.rejected[0].reason.find("group_size (64) not supported"), std::string::npos);
  EXPECT_EQ(choice.rejected[1].kernel, "hopper_only");
  EXPECT_NE(choice.rejected[1].reason.find("compute capability"), std::string::npos);
  EXPECT_NE(describe(choice).find("passed over picky"), std::string::npos);
}

TEST(Registry, PlacementFirstAndBeforeReference) {
  Registry r;
  r.register_kernel(reference::make_kernel(kMp), PlatformKind::cpu, Placement::last);
  r.register_kernel(std::make_shared<OutsideKernel>("b", kMp, any_platform), PlatformKind::cpu);
  r.register_kernel(std::make_shared<OutsideKernel>("a", kMp, any_platform), PlatformKind::cpu,
                    Placement::first);
  r.register_kernel(std::make_shared<OutsideKernel>("c", kMp, any_platform), PlatformKind::cpu);
  std::vector<std::string> order;
  for (const Kernel* k : r.kernels(PlatformKind::cpu)) order.push_back(k->name());
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "reference_mixed_precision"}));
  EXPECT_THROW(
      r.register_kernel(std::make_shared<OutsideKernel>("a", kMp, any_platform), PlatformKind::cpu),
      Error);
}

TEST(Registry, ForcingAndDisabling) {
  Registry r;
  r.register_kernel(std::make_shared<OutsideKernel>("first", kMp, any_platform), PlatformKind::cpu);
  r.register_kernel(std::make_shared<OutsideKernel>("second", kMp, any_platform, only_group_128),
                    PlatformKind::cpu);
  r.register_kernel(std::make_shared<OutsideKernel>("third", kMp, any_platform), PlatformKind::cpu);
  LayerConfig c = default_config(kMp, 256, 512);

  ChooseOptions force;
  force.force = "second";
  EXPECT_EQ(r.choose(c, host_platform(), force).kernel->name(), "second");
  c.group_size = 64;
  try {
    r.choose(c, host_platform(), force);
    ADD_FAILURE() << "a forced kernel that cannot implement the config was chosen";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("second: group_size (64) not supported"),
              std::string::npos)
        << e.what();
  }
  force.force = "nonexistent";
  EXPECT_THROW(r.choose(c, host_platform(), force), Error);

  ChooseOptions off;
  off.disabled = {"first"};
  EXPECT_EQ(r.choose(c, host_platform(), off).kernel->name(), "third");

  ::setenv("QLINEAR_DISABLED_KERNELS", "third, first", 1);
  try {
    r.choose(c, host_platform());
    ADD_FAILURE() << "disabled kernels were chosen";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("first: disabled"), std::string::npos) << message;
    EXPECT_NE(message.find("second: group_size"), std::string::npos) << message;
    EXPECT_NE(message.find("third: disabled"), std::string::npos) << message;
  }
  ChooseOptions ignore_env;
  ignore_env.use_environment = false;
  EXPECT_EQ(r.choose(c, host_platform(), ignore_env).kernel->name(), "first");
  ::unsetenv("QLINEAR_DISABLED_KERNELS");
}

TEST(Registry, NamedTargets) {
  Registry r;
  r.register_kernel(std::make_shared<OutsideKernel>("hopper", kMp, needs_sm90), PlatformKind::cuda);
  r.register_kernel(std::make_shared<OutsideKernel>("ampere", kMp, any_platform),
                    PlatformKind::cuda);
  r.register_kernel(std::make_shared<OutsideKernel>("mi300", kMp, any_platform),
                    PlatformKind::rocm);
  const LayerConfig c = default_config(kMp, 256, 512);
  EXPECT_EQ(r.choose(c, parse_target("cuda:sm_90a")).kernel->name(), "hopper");
  const Choice on_ampere = r.choose(c, parse_target("cuda:sm_80"));
  EXPECT_EQ(on_ampere.kernel->name(), "ampere");
  EXPECT_NE(on_ampere.rejected.at(0).reason.find("does not run on cuda:sm_80"), std::string::npos);
  EXPECT_EQ(r.choose(c, parse_target("rocm:gfx942")).kernel->name(), "mi300");
  EXPECT_THROW(r.choose(c, parse_target("cpu:avx2")), Error);  // nothing for the CPU here

  EXPECT_EQ(parse_target("cuda:sm_90a").str(), "cuda:sm_90a");
  EXPECT_EQ(parse_target("cuda:sm_100").compute_capability, 100);
  EXPECT_EQ(parse_target("cpu:avx2").cpu.isa, CpuIsa::avx2);
  EXPECT_FALSE(parse_target("cpu:avx2").cpu.avx512f);
  EXPECT_THROW(parse_target("cuda:80"), Error);
  EXPECT_THROW(parse_target("cpu:sse9"), Error);
  EXPECT_THROW(parse_target("tpu"), Error);
}

TEST(Registry, KernelFromOutsideTakesPartInGlobalSelection) {
  auto outside =
      std::make_shared<OutsideKernel>("outside_fp8_block", Family::fp8_block, any_platform);
  Registry::global().register_kernel(outside, "cpu", "fp8_block", Placement::first);
  const LayerConfig c = default_config(Family::fp8_block, 200, 320);
  const RandomLayer layer = make_random_layer(c, 3);
  const QuantizedLinear linear(c, layer.weights());
  EXPECT_EQ(linear.kernel().name(), "outside_fp8_block");
  EXPECT_EQ(outside->prepared_count, 1);
  // Disabled, the built-in list takes over and says why the outside kernel was passed over.
  ChooseOptions off;
  off.disabled = {"outside_fp8_block"};
  const QuantizedLinear fallback(c, layer.weights(), Device::cpu(), off);
  EXPECT_NE(fallback.kernel().name(), "outside_fp8_block");
  EXPECT_EQ(fallback.choice().rejected.at(0).kernel, "outside_fp8_block");
  // Runs and agrees with the reference.
  EXPECT_TRUE(run_against_reference(*outside, {c, 5, 9}, Device::cpu()).pass);
}

TEST(Registry, RegistrationByNameRejectsUnknownNames) {
  Registry r;
  auto k = std::make_shared<OutsideKernel>("k", kMp, any_platform);
  const auto message = [&](std::string_view platform, std::string_view family) {
    try {
      r.register_kernel(k, platform, family);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("tpu", "mixed_precision").find("unknown platform 'tpu'"), std::string::npos);
  EXPECT_NE(message("cuda", "w3a16").find("unknown family 'w3a16'; known: mixed_precision"),
            std::string::npos);
  EXPECT_NE(message("cuda", "fp8_block").find("implements mixed_precision"), std::string::npos);
  EXPECT_EQ(message("rocm", "mixed_precision"), "accepted");
  EXPECT_EQ(r.kernels(PlatformKind::rocm).size(), 1u);
}

TEST(Registry, BuiltInListHasAReferenceForEveryFamilyLastOnTheCpu) {
  const auto cpu = Registry::global().kernels(PlatformKind::cpu);
  for (Family f : all_families()) {
    const Kernel* ref = Registry::global().find(cat("reference_", name(f)));
    ASSERT_NE(ref, nullptr) << name(f);
    EXPECT_EQ(ref->family(), f);
    EXPECT_EQ(ref->info().provider, Provider::reference);
  }
  bool seen_reference = false;
  for (const Kernel* k : cpu) {
    if (k->info().provider == Provider::reference)
      seen_reference = true;
    else if (k->info().provider != Provider::external)
      EXPECT_FALSE(seen_reference) << k->name() << " after a reference";
  }
}

// The catalog names every kernel of the built-in lists, in their order, with their family,
// platform and provider, as built; the kernels it marks not built are not registered.
TEST(KernelCatalog, ListsTheBuiltInKernelsInOrderAndTheOthersAsNotBuilt) {
  std::vector<const CatalogEntry*> built;
  std::set<std::string> names;
  for (const CatalogEntry& e : kernel_catalog()) {
    EXPECT_TRUE(names.insert(e.name).second) << e.name << " listed twice";
    if (e.built) {
      built.push_back(&e);
    } else {
      EXPECT_EQ(Registry::global().find(e.name), nullptr) << e.name;
      EXPECT_NE(std::string(e.needs), "nothing") << e.name;
    }
  }
  const auto list = detail::built_in_kernels();
  ASSERT_EQ(built.size(), list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& [platform, kernel] = list[i];
    EXPECT_EQ(built[i]->name, kernel->name()) << "place " << i;
    EXPECT_EQ(built[i]->family, kernel->family()) << kernel->name();
    EXPECT_EQ(built[i]->platform, platform) << kernel->name();
    EXPECT_EQ(built[i]->provider, kernel->info().provider) << kernel->name();
  }
}

// fp8_scaled_mm is served as fp8_weight_only (the same weights, x in 16 bits) where the platform
// has no FP8 arithmetic, and selection notes it; elsewhere, and for other families, nothing
// changes.
TEST(Serving, Fp8WithoutFp8ArithmeticIsWeightOnly) {
  LayerConfig c = default_config(Family::fp8_scaled_mm, 256, 512);
  c.weight_scale = Granularity::per_tensor;
  c.act_scale = Granularity::per_tensor;
  c.act_scale_static = true;
  c.act_type = c.out_type = ScalarType::fp16;
  for (const char* target : {"cuda:sm_80", "cuda:sm_86", "cpu:avx2", "cpu:amx"}) {
    const Serving s = serving_config(c, parse_target(target));
    EXPECT_EQ(s.config.family, Family::fp8_weight_only) << target;
    EXPECT_FALSE(s.config.act_quant.has_value()) << target;
    EXPECT_FALSE(s.config.act_scale_static) << target;
    EXPECT_EQ(s.config.weight_scale, Granularity::per_tensor) << target;
    EXPECT_EQ(s.config.act_type, ScalarType::fp16) << target;
    EXPECT_NO_THROW(validate(s.config)) << target;
    EXPECT_NE(s.reason.find(target), std::string::npos) << s.reason;
  }
  for (const char* target : {"cuda:sm_89", "cuda:sm_90a", "cuda:sm_100a"}) {
    const Serving s = serving_config(c, parse_target(target));
    EXPECT_EQ(s.config.family, Family::fp8_scaled_mm) << target;
    EXPECT_TRUE(s.reason.empty()) << target;
  }
  const LayerConfig block = default_config(Family::fp8_block, 256, 512);
  EXPECT_EQ(serving_config(block, parse_target("cuda:sm_80")).config.family, Family::fp8_block);

  const Choice on_cpu = Registry::global().choose(default_config(Family::fp8_scaled_mm, 256, 512),
                                                  parse_target("cpu:avx2"));
  ASSERT_FALSE(on_cpu.notes.empty());
  EXPECT_NE(on_cpu.notes.back().find("served as fp8_weight_only"), std::string::npos)
      << on_cpu.notes.back();
  EXPECT_NE(describe(on_cpu).find("a checkpoint's layer loads as fp8_weight_only"),
            std::string::npos);
}

// nvfp4 is served as fp8_block where the GPU has FP8 tensor cores and no FP4 ones (sm_89 ..
// sm_9x), the reason stating the accuracy rule; nvfp4_weight_only only when opted in; off keeps
// both; selection notes it (or, where no kernel of the family is built, its error does).
TEST(Serving, Nvfp4WithFp8TensorCoresIsBlockFp8) {
  LayerConfig c = default_config(Family::nvfp4, 200, 400);
  c.act_type = c.out_type = ScalarType::fp16;
  c.bias = true;
  LayerConfig wo = default_config(Family::nvfp4_weight_only, 200, 400);
  const ServingOptions defaults, all{Nvfp4AsFp8Block::all}, off{Nvfp4AsFp8Block::off};
  for (const char* target : {"cuda:sm_89", "cuda:sm_90", "cuda:sm_90a"}) {
    const Serving s = serving_config(c, parse_target(target), defaults);
    EXPECT_EQ(s.config.family, Family::fp8_block) << target;
    EXPECT_EQ(s.config.act_quant, ScalarType::float8_e4m3fn) << target;
    EXPECT_EQ(s.config.act_type, ScalarType::fp16) << target;
    EXPECT_EQ(s.config.out_type, ScalarType::fp16) << target;
    EXPECT_TRUE(s.config.bias) << target;
    EXPECT_EQ(s.config.block_n, 128) << target;
    EXPECT_EQ(s.config.group_size, 128) << target;
    EXPECT_NO_THROW(validate(s.config)) << target;
    for (const char* part :
         {target, "no FP4 ones", "exact where a block's values fit e4m3",
          "else within max(2^-4 |w|, 2^-10 * block scale)",
          "fp16 activations quantized per 1x128 to e4m3", "QLINEAR_NVFP4_AS_FP8_BLOCK=off"})
      EXPECT_NE(s.reason.find(part), std::string::npos) << part << " not in " << s.reason;
    EXPECT_EQ(serving_config(wo, parse_target(target), defaults).config.family,
              Family::nvfp4_weight_only)
        << target;
    const Serving w = serving_config(wo, parse_target(target), all);
    EXPECT_EQ(w.config.family, Family::fp8_block) << target;
    EXPECT_NE(w.reason.find("leaves in 16 bits"), std::string::npos) << w.reason;
    EXPECT_EQ(serving_config(c, parse_target(target), off).config.family, Family::nvfp4);
  }
  for (const char* target : {"cuda:sm_80", "cuda:sm_86", "cuda:sm_100a", "cpu:avx2", "cpu:amx"}) {
    const Serving s = serving_config(c, parse_target(target), all);
    EXPECT_EQ(s.config.family, Family::nvfp4) << target;
    EXPECT_TRUE(s.reason.empty()) << target << ": " << s.reason;
  }

  ChooseOptions options;
  options.use_environment = false;
  std::string said;
  try {
    said = describe(Registry::global().choose(c, parse_target("cuda:sm_90a"), options));
  } catch (const Error& e) {  // a build without CUDA registers no nvfp4 kernel for cuda
    said = e.what();
  }
  EXPECT_NE(said.find("a checkpoint's layer loads as fp8_block"), std::string::npos) << said;
}

}  // namespace
}  // namespace qlinear
