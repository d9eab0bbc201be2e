// Tuning tables: a measured plan is obeyed over the priority list; every kind of bad table —
// corrupt, another version, another device, an unknown kernel, a kernel of another family or one
// that cannot run the layer — is refused with a clear message, and the priority list decides.
#include "qlinear/tuning.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "outside_kernel.hpp"
#include "qlinear/composite.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

const Family kMp = Family::mixed_precision;

struct Fixture {
  Registry registry;
  LayerConfig config = default_config(kMp, 64, 256);
  Fixture() {
    registry.register_kernel(std::make_shared<OutsideKernel>("first", kMp, any_platform),
                             PlatformKind::cpu);
    registry.register_kernel(
        std::make_shared<OutsideKernel>("picky", kMp, any_platform, only_group_128),
        PlatformKind::cpu);
    registry.register_kernel(std::make_shared<OutsideKernel>("slow", kMp, any_platform),
                             PlatformKind::cpu);
    registry.register_kernel(
        std::make_shared<OutsideKernel>("block", Family::fp8_block, any_platform),
        PlatformKind::cpu);
  }
  // A table of this machine's CPU with one entry for `config`.
  std::shared_ptr<TuningTable> table(std::vector<TunedPart> plan,
                                     TunedDevice device = tuned_device(host_platform())) const {
    auto t = std::make_shared<TuningTable>(std::move(device), "test.json");
    t->add({tuning_key(config), std::move(plan), {}});
    return t;
  }
  Choice choose(std::shared_ptr<const TuningTable> table, ChooseOptions options = {}) const {
    options.use_environment = false;
    options.use_shipped_tuning = false;
    options.tuning = {std::move(table)};
    return registry.choose(config, host_platform(), options);
  }
};

std::string notes(const Choice& c) {
  std::string text;
  for (const auto& n : c.notes) text += n + "\n";
  return text;
}

TEST(TuningTable, AMeasuredPlanIsObeyedOverThePriorityList) {
  Fixture f;
  Choice c = f.choose(f.table({{"slow", 0}}));
  EXPECT_EQ(c.kernel->name(), "slow");
  EXPECT_NE(notes(c).find("the plan measured by tuning table test.json"), std::string::npos);
  EXPECT_NE(describe(c).find("note: the plan measured by tuning table"), std::string::npos);

  c = f.choose(f.table({{"slow", 8}, {"picky", 64}, {"first", 0}}));
  ASSERT_EQ(c.kernel->name(), "tuned_mixed_precision");
  EXPECT_EQ(c.kernel_for(8).name(), "slow");
  EXPECT_EQ(c.kernel_for(9).name(), "picky");
  EXPECT_EQ(c.kernel_for(64).name(), "picky");
  EXPECT_EQ(c.kernel_for(65).name(), "first");
  EXPECT_EQ(c.kernel_for(100000).name(), "first");

  c = f.choose(f.table({{"slow", 8}, {"picky", 16}, {"slow", 0}}));  // one kernel, two ranges
  ASSERT_EQ(c.kernel->name(), "tuned_mixed_precision") << describe(c);
  EXPECT_EQ(c.kernel_for(8).name(), "slow");
  EXPECT_EQ(c.kernel_for(16).name(), "picky");
  EXPECT_EQ(c.kernel_for(17).name(), "slow");
}

TEST(TuningTable, ADisabledKernelLeavesThePlanAndAForcedKernelSkipsTheTable) {
  Fixture f;
  ChooseOptions options;
  options.disabled = {"slow"};
  Choice c = f.choose(f.table({{"slow", 8}, {"picky", 0}}), options);
  EXPECT_EQ(c.kernel->name(), "picky");
  ASSERT_EQ(c.rejected.size(), 1u);
  EXPECT_NE(c.rejected[0].reason.find("removed from the tuned plan"), std::string::npos);
  options.disabled = {"slow", "picky"};
  c = f.choose(f.table({{"slow", 8}, {"picky", 0}}), options);
  EXPECT_EQ(c.kernel->name(), "first");
  EXPECT_NE(notes(c).find("every kernel of its plan is disabled: ignored"), std::string::npos);

  ChooseOptions force;
  force.force = "first";
  EXPECT_EQ(f.choose(f.table({{"slow", 0}}), force).kernel->name(), "first");
}

TEST(TuningTable, AnEntryThatCannotBeUsedIsReportedAndThePriorityListDecides) {
  Fixture f;
  const auto expect_ignored = [&](std::vector<TunedPart> plan, const std::string& why) {
    const Choice c = f.choose(f.table(std::move(plan)));
    EXPECT_EQ(c.kernel->name(), "first") << why;
    EXPECT_NE(notes(c).find(why), std::string::npos) << notes(c);
    EXPECT_NE(notes(c).find("ignored; the priority list decides"), std::string::npos);
  };
  expect_ignored({{"nonexistent", 0}}, "names kernel nonexistent, which is not registered for cpu");
  expect_ignored({{"block", 0}}, "names kernel block, which implements fp8_block");
  f.config.group_size = 64;
  expect_ignored({{"slow", 4}, {"picky", 0}}, "kernel picky cannot implement");
}

TEST(TuningTable, ATableOfAnotherDeviceIsIgnored) {
  Fixture f;
  TunedDevice other = tuned_device(host_platform());
  other.units += 1;
  const Choice c = f.choose(f.table({{"slow", 0}}, other));
  EXPECT_EQ(c.kernel->name(), "first");
  EXPECT_NE(notes(c).find("not on this device"), std::string::npos) << notes(c);
  // A named target is no device: no table applies to it.
  ChooseOptions options;
  options.use_environment = false;
  options.tuning = {f.table({{"slow", 0}})};
  EXPECT_EQ(f.registry.choose(f.config, parse_target("cpu:avx2"), options).kernel->name(), "first");
}

std::string parse_error(const std::string& text) {
  try {
    TuningTable::parse(text, "t.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(TuningTable, CorruptTablesAreRefusedNamingTheField) {
  const std::string device = R"("device": {"platform": "cpu:avx2", "name": "x", "units": 2})";
  EXPECT_NE(parse_error("{").find("t.json: not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error("[]").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(parse_error("{}").find("not a qlinear tuning table"), std::string::npos);
  EXPECT_NE(parse_error(R"({"qlinear_tuning_version": 2})")
                .find("version 2; this qlinear reads version 1"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"qlinear_tuning_version": "1"})").find("must be an integer"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"qlinear_tuning_version": 1})").find("device has no field 'platform'"),
            std::string::npos);
  const std::string head = R"({"qlinear_tuning_version": 1, )" + device;
  EXPECT_NE(parse_error(head + "}").find("'entries' must be an array"), std::string::npos);
  const auto entry = [&](const std::string& plan, const std::string& extra = "") {
    return parse_error(head + R"(, "entries": [{"config": "c", "plan": )" + plan + extra + "}]}");
  };
  EXPECT_NE(entry("[]").find("the plan has no parts"), std::string::npos);
  EXPECT_NE(
      entry(R"([{"kernel": "a"}, {"kernel": "b"}])").find("every part but the last needs max_m"),
      std::string::npos);
  EXPECT_NE(entry(R"([{"kernel": "a", "max_m": 4}])").find("has no max_m"), std::string::npos);
  EXPECT_NE(entry(R"([{"kernel": "a", "max_m": 8}, {"kernel": "b", "max_m": 4}, {"kernel": "c"}])")
                .find("token limits must increase"),
            std::string::npos);
  EXPECT_NE(entry(R"([{"kernel": "a", "max_m": 0}, {"kernel": "b"}])").find("at least 1"),
            std::string::npos);
  EXPECT_NE(entry(R"([{"kernel": "a", "max_m": 18446744073709551615}, {"kernel": "b"}])")
                .find("out of range"),
            std::string::npos);
  EXPECT_NE(entry(R"([{"kernel": 5}])").find("must be a string"), std::string::npos);
  EXPECT_NE(entry(R"([{"kernel": "a"}])", R"(, "times_us": {"x": {}})").find("not a token count"),
            std::string::npos);
  EXPECT_NE(entry(R"([{"kernel": "a"}])", R"(, "times_us": {"1": {"a": -1}})")
                .find("must be a time in microseconds"),
            std::string::npos);
  EXPECT_EQ(entry(R"([{"kernel": "a", "max_m": 4}, {"kernel": "b"}])"), "accepted");
  // Deep nesting and a key given twice are refused, never a crash or a silent choice.
  EXPECT_NE(parse_error(std::string(100000, '[') + std::string(100000, ']')).find("nests deeper"),
            std::string::npos);
  EXPECT_NE(
      parse_error(R"({"qlinear_tuning_version": 1, "qlinear_tuning_version": 1})").find("twice"),
      std::string::npos)
      << parse_error(R"({"qlinear_tuning_version": 1, "qlinear_tuning_version": 1})");
}

TEST(TuningTable, RoundTripsThroughJsonAndMergesMeasuredTimesIntoAPlan) {
  const std::map<int64_t, std::map<std::string, double>> times = {
      {1, {{"a", 1.0}, {"b", 2.0}}},
      {2, {{"a", 1.5}, {"b", 2.0}}},
      {4, {{"a", 3.0}, {"b", 2.0}}},
      {8, {{"a", 6.0}, {"b", 3.0}, {"c", 2.5}}}};
  // Within 3 % of the kernel of the larger M: no new part for noise.
  const std::map<int64_t, std::map<std::string, double>> close = {
      {1, {{"a", 98.0}, {"b", 100.0}}}, {2, {{"a", 150.0}, {"b", 100.0}}}};
  ASSERT_EQ(fastest_plan(close).size(), 1u);
  EXPECT_EQ(fastest_plan(close)[0].kernel, "b");
  ASSERT_EQ(fastest_plan(close, 0.0).size(), 2u);

  const std::vector<TunedPart> plan = fastest_plan(times);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].kernel, "a");
  EXPECT_EQ(plan[0].max_m, 2);
  EXPECT_EQ(plan[1].kernel, "b");
  EXPECT_EQ(plan[1].max_m, 4);
  EXPECT_EQ(plan[2].kernel, "c");

  TuningTable t(tuned_device(host_platform()), "mine");
  t.set_note("made here");
  t.add({"key one", plan, times});
  const auto back = TuningTable::parse(t.to_json(), "back");
  EXPECT_EQ(back->device(), t.device());
  EXPECT_EQ(back->note(), "made here");
  ASSERT_EQ(back->entries().size(), 1u);
  EXPECT_EQ(back->entries()[0].key, "key one");
  EXPECT_EQ(back->entries()[0].times_us, times);
  ASSERT_EQ(back->entries()[0].plan.size(), 3u);
  EXPECT_EQ(back->entries()[0].plan[1].max_m, 4);
}

TEST(TuningTable, QlinearTuningNamesAFileThatIsReadOrReportedNeverFatal) {
  Fixture f;
  const auto dir = std::filesystem::temp_directory_path() / cat("qlinear_tuning_", ::getpid());
  std::filesystem::create_directories(dir);
  const auto path = (dir / "table.json").string();
  std::ofstream(path) << f.table({{"slow", 0}})->to_json();
  ChooseOptions options;
  options.use_shipped_tuning = false;
  ::setenv("QLINEAR_TUNING", path.c_str(), 1);
  EXPECT_EQ(f.registry.choose(f.config, host_platform(), options).kernel->name(), "slow");

  std::ofstream(path) << "{ corrupt";
  Choice c = f.registry.choose(f.config, host_platform(), options);
  EXPECT_EQ(c.kernel->name(), "first");
  EXPECT_NE(notes(c).find("not valid JSON"), std::string::npos) << notes(c);

  ::setenv("QLINEAR_TUNING", dir.c_str(), 1);  // a directory
  c = f.registry.choose(f.config, host_platform(), options);
  EXPECT_NE(notes(c).find("expected a regular file"), std::string::npos) << notes(c);
  const auto fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);  // would block a reader: refused unopened
  ::setenv("QLINEAR_TUNING", fifo.c_str(), 1);
  c = f.registry.choose(f.config, host_platform(), options);
  EXPECT_NE(notes(c).find("expected a regular file"), std::string::npos) << notes(c);
  ::setenv("QLINEAR_TUNING", (dir / "missing.json").c_str(), 1);
  c = f.registry.choose(f.config, host_platform(), options);
  EXPECT_NE(notes(c).find("cannot open"), std::string::npos) << notes(c);
  ::unsetenv("QLINEAR_TUNING");
  std::filesystem::remove_all(dir);
}

// The table measured on this machine class (tuning/cpu-amd-epyc-2core.json: 'AMD EPYC', 2 logical
// cores, avx512_vnni) decides the layers it holds there: block fp8 N = 6144 runs the AVX-512 tile
// at one token (measured 0.77 ms against the VNNI tile's 0.90 ms) and the VNNI tile from two on;
// int8 W8A8 hands 5 to 32 tokens to the VNNI tile. The same CPU with 4 cores is another device,
// whose choice is the priority list's.
TEST(TuningTable, AnAmdEpycWithTwoCoresFollowsItsTable) {
  Platform epyc = parse_target("cpu:avx512_vnni");
  epyc.detected = true, epyc.cpu.brand = "AMD EPYC", epyc.cpu.cores = 2;
  const LayerConfig block = default_config(Family::fp8_block, 6144, 4096);
  const Choice tuned = Registry::global().choose(block, epyc);
  EXPECT_EQ(tuned.kernel_for(1).name(), "fp8_block_avx512");
  EXPECT_EQ(tuned.kernel_for(2).name(), "fp8_block_avx512_vnni");
  // int8 W8A8, tuned again after the CPU pool's spin (thirteenth session): oneDNN's s32 GEMM to 4
  // tokens, the VNNI tile to 32 (64 on K = 14336), oneDNN past.
  const Choice int8 =
      Registry::global().choose(default_config(Family::int8_scaled_mm, 4096, 4096), epyc);
  EXPECT_EQ(int8.kernel_for(4).name(), "onednn_int8_s32_epilogue");
  EXPECT_EQ(int8.kernel_for(5).name(), "int8_scaled_mm_avx512_vnni");
  EXPECT_EQ(int8.kernel_for(32).name(), "int8_scaled_mm_avx512_vnni");
  EXPECT_EQ(int8.kernel_for(33).name(), "onednn_int8_s32_epilogue");
  epyc.cpu.cores = 4;
  EXPECT_EQ(Registry::global().choose(block, epyc).kernel_for(1).name(), "fp8_block_avx512_vnni");
}

TEST(TuningTable, ShippedTablesParseAndNameRegisteredKernels) {
  for (const auto& t : shipped_tuning_tables())
    for (const TunedEntry& e : t->entries())
      for (const TunedPart& p : e.plan)
        EXPECT_NE(Registry::global().find(p.kernel), nullptr) << t->source() << ": " << p.kernel;
}

}  // namespace
}  // namespace qlinear
