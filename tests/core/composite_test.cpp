// Composite kernels: parts by token count at their boundaries, disabled parts, parts that refuse,
// the weights prepared once per layout, forcing a part, and the built-in plans as selection sees
// them on named targets.
#include "qlinear/composite.hpp"

#include <gtest/gtest.h>

#include "outside_kernel.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"

namespace qlinear {
namespace {

const Family kMp = Family::mixed_precision;

struct ThreeParts {
  std::shared_ptr<OutsideKernel> small =
      std::make_shared<OutsideKernel>("small", kMp, any_platform);
  std::shared_ptr<OutsideKernel> middle =
      std::make_shared<OutsideKernel>("middle", kMp, any_platform, only_group_128);
  std::shared_ptr<OutsideKernel> large =
      std::make_shared<OutsideKernel>("large", kMp, any_platform);
  std::shared_ptr<CompositeKernel> plan = std::make_shared<CompositeKernel>(
      "by_tokens", std::vector<PlanPart>{{small, 4}, {middle, 40}, {large, kNoTokenLimit}});
  Registry registry;
  ThreeParts() {
    registry.register_kernel(plan, PlatformKind::cpu);
    for (const auto& k : {small, middle, large}) registry.register_kernel(k, PlatformKind::cpu);
  }
};

// Runs the layer at m tokens and says which part ran.
std::string part_run(const QuantizedLinear& layer, const ThreeParts& t, int64_t m) {
  const int before[3] = {t.small->applied_count, t.middle->applied_count, t.large->applied_count};
  const std::vector<int64_t> shape{m, layer.config().k};
  const Tensor x = random_activations(layer.config().act_type, shape, 2);
  layer.forward(x);
  if (t.small->applied_count != before[0]) return "small";
  if (t.middle->applied_count != before[1]) return "middle";
  if (t.large->applied_count != before[2]) return "large";
  return "none";
}

TEST(CompositeKernel, EachPartRunsItsTokenRangeBoundariesIncluded) {
  ThreeParts t;
  const LayerConfig c = default_config(kMp, 48, 256);
  const RandomLayer data = make_random_layer(c, 3);
  const QuantizedLinear layer(c, data.weights(), Device::cpu(), {}, t.registry);
  ASSERT_EQ(layer.kernel().name(), "by_tokens");
  EXPECT_EQ(layer.choice().kernel_for(4).name(), "small");
  EXPECT_EQ(layer.choice().kernel_for(5).name(), "middle");
  EXPECT_EQ(layer.choice().kernel_for(40).name(), "middle");
  EXPECT_EQ(layer.choice().kernel_for(41).name(), "large");
  EXPECT_EQ(part_run(layer, t, 1), "small");
  EXPECT_EQ(part_run(layer, t, 4), "small");
  EXPECT_EQ(part_run(layer, t, 5), "middle");
  EXPECT_EQ(part_run(layer, t, 40), "middle");
  EXPECT_EQ(part_run(layer, t, 41), "large");
  const std::string text = describe(layer.choice());
  EXPECT_NE(text.find("chosen: by_tokens"), std::string::npos) << text;
  EXPECT_NE(text.find("M <= 4: small"), std::string::npos) << text;
  EXPECT_NE(text.find("M 5..40: middle"), std::string::npos) << text;
  EXPECT_NE(text.find("M > 40: large"), std::string::npos) << text;
  // Every part's answer agrees with the reference, across the boundaries.
  for (int64_t m : {1, 4, 5, 40, 41, 67})
    EXPECT_TRUE(
        run_against_reference(*t.plan, {c, m, static_cast<uint64_t>(m)}, Device::cpu()).pass)
        << m;
}

TEST(CompositeKernel, DisablingAPartHandsItsCallsToTheNextPartAndSaysSo) {
  ThreeParts t;
  const LayerConfig c = default_config(kMp, 48, 256);
  ChooseOptions off;
  off.use_environment = false;
  off.disabled = {"middle"};
  Choice choice = t.registry.choose(c, host_platform(), off);
  ASSERT_EQ(choice.kernel->name(), "by_tokens");
  EXPECT_EQ(choice.kernel_for(4).name(), "small");
  EXPECT_EQ(choice.kernel_for(5).name(), "large");
  ASSERT_EQ(choice.rejected.size(), 1u);
  EXPECT_EQ(choice.rejected[0].kernel, "middle");
  EXPECT_NE(choice.rejected[0].reason.find("removed from by_tokens"), std::string::npos);
  EXPECT_NE(describe(choice).find("passed over middle: disabled"), std::string::npos);
  // The registered plan itself is unchanged.
  EXPECT_EQ(t.plan->parts().size(), 3u);

  off.disabled = {"large"};  // the last part: the one before it takes every larger call
  choice = t.registry.choose(c, host_platform(), off);
  EXPECT_EQ(choice.kernel_for(1000).name(), "middle");

  off.disabled = {"small", "large"};  // one part left: chosen alone
  choice = t.registry.choose(c, host_platform(), off);
  EXPECT_EQ(choice.kernel->name(), "middle");
  EXPECT_EQ(choice.kernel_for(1).name(), "middle");

  off.disabled = {"small", "middle", "large"};
  EXPECT_THROW(t.registry.choose(c, host_platform(), off), Error);

  ::setenv("QLINEAR_DISABLED_KERNELS", "small", 1);
  choice = t.registry.choose(c, host_platform());
  EXPECT_EQ(choice.kernel_for(1).name(), "middle");
  ::unsetenv("QLINEAR_DISABLED_KERNELS");
}

TEST(CompositeKernel, APartThatRefusesTheConfigRejectsThePlanWithItsReason) {
  ThreeParts t;
  LayerConfig c = default_config(kMp, 48, 256);
  c.group_size = 64;  // middle takes 128 only
  const Choice choice = t.registry.choose(c, host_platform());
  EXPECT_EQ(choice.kernel->name(), "small");
  ASSERT_FALSE(choice.rejected.empty());
  EXPECT_EQ(choice.rejected[0].kernel, "by_tokens");
  EXPECT_NE(choice.rejected[0].reason.find("part middle: group_size (64) not supported"),
            std::string::npos)
      << choice.rejected[0].reason;
  // Disabled, the refusing part no longer stands in the plan's way.
  ChooseOptions off;
  off.use_environment = false;
  off.disabled = {"middle"};
  EXPECT_EQ(t.registry.choose(c, host_platform(), off).kernel->name(), "by_tokens");
}

TEST(CompositeKernel, ForcingAPartChoosesItAlone) {
  ThreeParts t;
  ChooseOptions force;
  force.force = "large";
  const Choice choice = t.registry.choose(default_config(kMp, 48, 256), host_platform(), force);
  EXPECT_EQ(choice.kernel->name(), "large");
  EXPECT_EQ(choice.kernel_for(1).name(), "large");
  force.force = "by_tokens";
  EXPECT_EQ(t.registry.choose(default_config(kMp, 48, 256), host_platform(), force).kernel->name(),
            "by_tokens");
}

TEST(CompositeKernel, AKernelInTwoRangesPreparesItsWeightsOnce) {
  ThreeParts t;
  const CompositeKernel plan("a_b_a", {{t.small, 4}, {t.large, 8}, {t.small, kNoTokenLimit}});
  const LayerConfig c = default_config(kMp, 48, 256);
  const RandomLayer data = make_random_layer(c, 3);
  plan.process_weights(c, data.weights(), Device::cpu());
  EXPECT_EQ(t.small->prepared_count, 1);
  EXPECT_EQ(t.large->prepared_count, 1);
  for (int64_t m : {2, 6, 20})
    EXPECT_TRUE(run_against_reference(plan, {c, m, 7}, Device::cpu()).pass) << m;
}

// A layer of the three parts where the large part reads the small part's layout (the caller says
// which of the two knows it): the small and middle parts prepare their weights, the large part
// none, and it runs on the small part's.
void expect_large_part_on_the_small_parts_weights(ThreeParts& t) {
  const LayerConfig c = default_config(kMp, 48, 256);
  const RandomLayer data = make_random_layer(c, 3);
  const QuantizedLinear layer(c, data.weights(), Device::cpu(), {}, t.registry);
  EXPECT_EQ(t.small->prepared_count, 1);
  EXPECT_EQ(t.middle->prepared_count, 1);
  EXPECT_EQ(t.large->prepared_count, 0);
  EXPECT_EQ(part_run(layer, t, 100), "large");
}

TEST(CompositeKernel, PartsThatShareALayoutPrepareTheWeightsOnce) {
  ThreeParts t;
  t.small->shares_with = "large";
  expect_large_part_on_the_small_parts_weights(t);
}

// The other way round: the later part reads the earlier one's layout (the Hopper wgmma kernels
// and the mma kernels' packed weights), and is made from its weights, not prepared again.
TEST(CompositeKernel, APartMadeFromAnEarlierPartsWeightsIsNotPreparedAgain) {
  ThreeParts t;
  t.large->made_from = "small";
  expect_large_part_on_the_small_parts_weights(t);
}

TEST(CompositeKernel, StatesTheRuleAPlanBreaks) {
  const auto a = std::make_shared<OutsideKernel>("a", kMp, any_platform);
  const auto b = std::make_shared<OutsideKernel>("b", kMp, any_platform);
  const auto other = std::make_shared<OutsideKernel>("other", Family::fp8_block, any_platform);
  const auto message = [](std::vector<PlanPart> parts) {
    try {
      CompositeKernel("p", std::move(parts));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message({}).find("no parts"), std::string::npos);
  EXPECT_NE(message({{a, 8}, {b, 8}}).find("must take every larger call"), std::string::npos);
  EXPECT_NE(message({{a, kNoTokenLimit}, {b, kNoTokenLimit}}).find("is not the last"),
            std::string::npos);
  EXPECT_NE(message({{a, 8}, {b, 4}, {a, kNoTokenLimit}}).find("must increase"), std::string::npos);
  EXPECT_NE(message({{a, 8}, {other, kNoTokenLimit}}).find("implements fp8_block"),
            std::string::npos);
  EXPECT_NE(message({{a, 0}, {b, kNoTokenLimit}}).find("at least 1"), std::string::npos);
  EXPECT_EQ(message({{a, 8}, {b, kNoTokenLimit}}), "accepted");
  EXPECT_EQ(message({{a, 8}, {b, 16}, {a, kNoTokenLimit}}), "accepted");  // a twice: one copy
}

// QLINEAR_PROVIDERS / ChooseOptions::providers: only the preferred providers' kernels (and parts),
// most preferred first, a composite ranking as its least preferred part; a layer none of them can
// run falls back to the priority list with a note.
TEST(ProviderPreference, RestrictsAndOrdersAndFallsBackWithANote) {
  const auto own =
      std::make_shared<OutsideKernel>("own", kMp, any_platform, only_group_128, Provider::cuda);
  const auto library = std::make_shared<OutsideKernel>("library", kMp, any_platform, only_group_128,
                                                       Provider::cublaslt);
  const auto general = std::make_shared<OutsideKernel>("general", kMp, any_platform);
  Registry r;
  r.register_kernel(
      std::make_shared<CompositeKernel>("own_then_library",
                                        std::vector<PlanPart>{{own, 16}, {library, kNoTokenLimit}}),
      PlatformKind::cpu);
  for (const auto& k : {own, library, general}) r.register_kernel(k, PlatformKind::cpu);
  LayerConfig c = default_config(kMp, 48, 256);
  ChooseOptions o;
  o.use_environment = false;
  EXPECT_EQ(r.choose(c, host_platform(), o).kernel->name(), "own_then_library");

  o.providers = {Provider::cublaslt};
  Choice choice = r.choose(c, host_platform(), o);
  EXPECT_EQ(choice.kernel->name(), "library");  // the plan less its cuda part: one part left
  EXPECT_NE(describe(choice).find("provider cuda is not preferred"), std::string::npos)
      << describe(choice);

  o.providers = {Provider::cuda};
  EXPECT_EQ(r.choose(c, host_platform(), o).kernel->name(), "own");

  o.providers = {Provider::cublaslt, Provider::cuda};  // cuBLASLt first: the plan ranks as cuda
  EXPECT_EQ(r.choose(c, host_platform(), o).kernel->name(), "library");

  o.providers = {Provider::cuda, Provider::cublaslt, Provider::external};
  EXPECT_EQ(r.choose(c, host_platform(), o).kernel->name(), "own");

  c.group_size = 64;  // neither own nor library: a fallback with the reason
  o.providers = {Provider::cublaslt};
  choice = r.choose(c, host_platform(), o);
  EXPECT_EQ(choice.kernel->name(), "general");
  EXPECT_NE(describe(choice).find("no kernel of the preferred providers (cublaslt) can run this "
                                  "layer: the priority list decides"),
            std::string::npos)
      << describe(choice);

  ::setenv("QLINEAR_PROVIDERS", "cuda, cublaslt", 1);
  c.group_size = 128;
  EXPECT_EQ(r.choose(c, host_platform()).kernel->name(), "own");
  ::setenv("QLINEAR_PROVIDERS", "tpu", 1);
  try {
    r.choose(c, host_platform());
    ADD_FAILURE() << "an unknown provider was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown provider 'tpu'; known: reference, cpu"),
              std::string::npos)
        << e.what();
  }
  ::unsetenv("QLINEAR_PROVIDERS");
}

// The built-in plans of the CUDA list, asked about a named Hopper target (no GPU needed).
TEST(CompositeKernel, BuiltInHopperPlansNameEveryPart) {
  if (Registry::global().find("fp8_scaled_mm_by_tokens") == nullptr)
    GTEST_SKIP() << "a build without the CUDA providers";
  const Platform hopper = parse_target("cuda:sm_90a");
  const Platform ampere = parse_target("cuda:sm_80");
  const Choice fp8 =
      Registry::global().choose(default_config(Family::fp8_scaled_mm, 4096, 4096), hopper);
  ASSERT_EQ(fp8.kernel->name(), "fp8_scaled_mm_by_tokens");
  const int64_t limit = dynamic_cast<const CompositeKernel&>(*fp8.kernel).parts()[0].max_m;
  EXPECT_EQ(fp8.kernel_for(limit).name(), "fp8_scaled_mm_sm90");
  EXPECT_EQ(fp8.kernel_for(limit + 1).name(), "cublaslt_fp8_scaled_mm");
  // Without Hopper the plan's first part cannot run: the plan is passed over with the part's
  // reason.
  const Choice on_ada = Registry::global().choose(default_config(Family::fp8_scaled_mm, 4096, 4096),
                                                  parse_target("cuda:sm_89"));
  EXPECT_NE(on_ada.kernel->name(), "fp8_scaled_mm_by_tokens");
  EXPECT_EQ(on_ada.rejected.at(0).kernel, "fp8_scaled_mm_by_tokens");
  EXPECT_NE(on_ada.rejected.at(0).reason.find("part fp8_scaled_mm_sm90: wgmma"), std::string::npos)
      << on_ada.rejected.at(0).reason;

  // int4: on Hopper the mma kernel, its wgmma kernel on the same weights, then
  // dequantize-then-GEMM; on Ampere the plan without the wgmma part, the first passed over with
  // that part's reason.
  const LayerConfig int4_config = default_config(Family::mixed_precision, 4096, 4096);
  ChooseOptions untuned;
  untuned.use_shipped_tuning = false;
  const Choice int4_hopper = Registry::global().choose(int4_config, hopper, untuned);
  ASSERT_EQ(int4_hopper.kernel->name(), "w4a16_by_tokens");
  const auto& int4_plan = dynamic_cast<const CompositeKernel&>(*int4_hopper.kernel);
  EXPECT_EQ(int4_hopper.kernel_for(1).name(), "w4a16_mma_sm80");
  EXPECT_EQ(int4_hopper.kernel_for(int4_plan.parts()[0].max_m + 1).name(), "w4a16_wgmma_sm90");
  EXPECT_EQ(int4_hopper.kernel_for(100000).name(), "dequant_gemm_mixed_precision");
  const Choice int4 = Registry::global().choose(int4_config, ampere);
  ASSERT_EQ(int4.kernel->name(), "w4a16_sm80_by_tokens");
  EXPECT_EQ(int4.rejected.at(0).kernel, "w4a16_by_tokens");
  EXPECT_NE(int4.rejected.at(0).reason.find("part w4a16_wgmma_sm90: wgmma"), std::string::npos)
      << int4.rejected.at(0).reason;
  EXPECT_EQ(int4.kernel_for(1).name(), "w4a16_mma_sm80");
  EXPECT_EQ(int4.kernel_for(100000).name(), "dequant_gemm_mixed_precision");
}

}  // namespace
}  // namespace qlinear
