// The bench runner's arithmetic and seams, with a fake device and a fake peer (no timing is
// asserted): presets, shapes, floors, speedups, weight-copy rotation, registration errors.
#include "qlinear/bench.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <map>

#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"
#include "qlinear/version.hpp"

namespace qlinear::bench {
namespace {

// [n, k, partition_n, partition_k] of each layer.
std::vector<std::array<int64_t, 4>> dims(const std::vector<Shape>& shapes) {
  std::vector<std::array<int64_t, 4>> d;
  for (const Shape& s : shapes) d.push_back({s.n, s.k, s.partition_n, s.partition_k});
  return d;
}

TEST(BenchPresets, Llama3LayersAndTheirTensorParallelSplit) {
  // qkv, o, gate_up, down.
  EXPECT_EQ((std::vector<std::array<int64_t, 4>>{
                {6144, 4096, 0, 0}, {4096, 4096, 0, 0}, {28672, 4096, 0, 0}, {4096, 14336, 0, 0}}),
            dims(preset("llama3-8b")));
  // 70B over 8 ranks: qkv (8192 + 2·1024)/8 x 8192, o 8192 x 8192/8, gate_up 2·28672/8 x 8192,
  // down 8192 x 28672/8.
  EXPECT_EQ((std::vector<std::array<int64_t, 4>>{{10240, 8192, 1280, 0},
                                                 {8192, 8192, 0, 1024},
                                                 {57344, 8192, 7168, 0},
                                                 {8192, 28672, 0, 3584}}),
            dims(preset("llama3-70b-tp8")));
  EXPECT_THROW(preset("llama2"), Error);
}

TEST(BenchShapes, ParseNxK) {
  const Shape s = parse_shape("4096x14336");
  EXPECT_EQ(4096, s.n);
  EXPECT_EQ(14336, s.k);
  for (const char* bad : {"4096", "x4096", "4096x", "0x5", "4096*14336", "12x3y"})
    EXPECT_THROW(parse_shape(bad), Error) << bad;
}

TEST(BenchDevices, CudaWithoutTheCudaBuildSaysSo) {
  if (kCudaBuilt) GTEST_SKIP() << "this is the CUDA build";
  try {
    make_bench_device(Device::cuda(0));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("built without CUDA"), std::string::npos) << e.what();
  }
}

// 10 µs per call; 100 GB/s; 1 Tops/s for every type.
class FakeDevice final : public BenchDevice {
 public:
  std::string describe() const override { return "fake"; }
  std::vector<double> time(const std::function<void(int, Stream)>& body, int warmup,
                           int reps) override {
    for (int i = 0; i < warmup + reps; ++i) body(i, Stream{});
    return std::vector<double>(static_cast<size_t>(reps), 10.0);
  }
  double measure_read_bandwidth() override { return 100.0; }
  int64_t copy_budget_bytes() const override { return int64_t{1} << 40; }
  double peak_ops(ScalarType) const override { return 1e12; }
  std::string peak_source() const override { return "fake"; }
};

// A peer that counts its calls per weight copy.
class FakePeer final : public Peer {
 public:
  struct Case final : PeerCase {
    std::vector<int>* calls;
    int64_t n, k;
    void prepare_m(int64_t) override {}
    void run(int copy, Stream) override { ++(*calls)[static_cast<size_t>(copy)]; }
    int64_t bytes(int64_t m) const override { return n * k + m * k + m * n; }
    std::string implementation(int64_t) const override { return "fake"; }
  };
  const std::string& name() const override { return name_; }
  ScalarType multiply_type() const override { return ScalarType::int8; }
  Verdict applies(const LayerConfig& c, const Platform&) const override {
    return c.family == Family::mxfp8 ? Verdict::yes() : Verdict::no("mxfp8 only");
  }
  int64_t weight_bytes(const LayerConfig& c) const override { return c.part_n() * c.part_k(); }
  std::unique_ptr<PeerCase> prepare(const LayerConfig& c, int copies, Device) const override {
    calls->assign(static_cast<size_t>(copies), 0);
    auto made = std::make_unique<Case>();
    made->calls = calls.get();
    made->n = c.part_n(), made->k = c.part_k();
    return made;
  }
  std::shared_ptr<std::vector<int>> calls = std::make_shared<std::vector<int>>();

  explicit FakePeer(std::string name = "fake_peer") : name_(std::move(name)) {}

 private:
  std::string name_;
};

// The reference mxfp8 kernel beside `peer` (built-in peers, oneDNN bf16 dense, may apply too; they
// come after it) on the fake device at M = 1 and 3, 7 timed calls and 2 untimed ones each.
Options fake_peer_run(const std::string& peer) {
  Options o;
  o.device = Device::cpu();
  o.configs = {default_config(Family::mxfp8, 64, 96)};
  o.kernels = {"reference_mxfp8"};
  o.m_values = {1, 3};
  o.reps = 7;
  o.warmup = 2;
  o.baseline = peer;
  return o;
}

TEST(BenchRun, FloorsSpeedupsAndRotationFromAFakeDevice) {
  register_bench_device(DeviceType::cpu, [](Device) { return std::make_unique<FakeDevice>(); });
  auto peer = std::make_shared<FakePeer>();
  register_peer(PlatformKind::cpu, peer);
  EXPECT_THROW(register_peer(PlatformKind::cpu, peer), Error);  // the name is taken

  Options o = fake_peer_run("fake_peer");
  o.rotate_bytes = 64 * 96 * 10 + 1;  // 11 copies of the peer's 64·96 bytes
  std::vector<std::string> seen;
  const bench::Run result = bench::run(o, [&](const Record& r) {
    if (r.kernel == "fake_peer" || r.kernel == "reference_mxfp8") seen.push_back(r.kernel);
  });
  std::vector<Record> records;
  for (const Record& r : result.records)
    if (r.kernel == "fake_peer" || r.kernel == "reference_mxfp8") records.push_back(r);

  ASSERT_EQ(4u, records.size());
  EXPECT_EQ(
      (std::vector<std::string>{"fake_peer", "reference_mxfp8", "fake_peer", "reference_mxfp8"}),
      seen);
  for (const Record& r : records) {
    EXPECT_EQ("fake_peer", r.baseline);
    EXPECT_DOUBLE_EQ(10.0, r.us);
    EXPECT_DOUBLE_EQ(10.0, r.baseline_us);
    EXPECT_DOUBLE_EQ(1.0, r.speedup);
    const double flops = 2.0 * r.m * 64 * 96;
    EXPECT_DOUBLE_EQ(flops / 10.0 * 1e-6, r.tflops);
    EXPECT_DOUBLE_EQ(flops / 1e12 * 1e6, r.compute_floor_us);
    EXPECT_DOUBLE_EQ(r.gbs * 10.0 / 100.0, r.memory_floor_us);  // bytes / 100 GB/s
    EXPECT_DOUBLE_EQ(std::max(r.memory_floor_us, r.compute_floor_us), r.floor_us);
  }
  const Record& p = records[0];
  EXPECT_TRUE(p.peer);
  EXPECT_EQ(11, p.copies);
  EXPECT_DOUBLE_EQ(64.0 * 96 + 96 + 64, p.gbs * 10.0 * 1e3);  // the peer's own bytes at M = 1
  // At M = 1 every copy was called (warm-up covers each once) and the calls went round the copies.
  // Its 10 us there were far above its memory floor (bound by arithmetic, where the copy read
  // matters little), so at M = 3 its calls rotate over as many copies as it has timed calls:
  // copies 7-10 were called at M = 1 alone.
  EXPECT_EQ(7, records[2].copies);
  const std::vector<int>& calls = *peer->calls;
  for (int c : calls) EXPECT_GE(c, 2);
  EXPECT_GT(*std::min_element(calls.begin(), calls.begin() + 7),
            *std::max_element(calls.begin() + 7, calls.end()));
  EXPECT_LE(*std::max_element(calls.begin() + 7, calls.end()) -
                *std::min_element(calls.begin() + 7, calls.end()),
            1);
}

// With a time budget per case (`qlinear tune` on the CPU), a case whose calls took t at the M
// before makes budget / t timed calls, at least 3, and sits the rounds after them out.
TEST(BenchRun, ACaseWithLongCallsMakesFewerOfThemWithinItsBudget) {
  register_bench_device(DeviceType::cpu, [](Device) { return std::make_unique<FakeDevice>(); });
  auto peer = std::make_shared<FakePeer>("fake_peer_budget");
  register_peer(PlatformKind::cpu, peer);
  Options o = fake_peer_run("fake_peer_budget");
  o.rotate_bytes = 0;              // one copy
  o.seconds_per_case = 3 * 10e-6;  // three of the fake device's 10 us calls
  (void)bench::run(o);
  // M = 1: a warm and a timed call (its first M: no time of its own yet) give 10 us a call, so 3
  // timed calls, in rounds 0-2, with 1 + 2 untimed ones in round 0 and 1 in rounds 1 and 2: 10.
  // M = 3 (bound by arithmetic from M = 1: no untimed calls between rounds): 3 + 3: 6.
  EXPECT_EQ(std::vector<int>{10 + 6}, *peer->calls);
  // Without the budget every case makes its 7 at every M: at M = 1 (5 rounds, one untimed call
  // each but the first, which makes 1 + 2) 14, at M = 3 10.
  o.seconds_per_case = 0;
  (void)bench::run(o);
  EXPECT_EQ(std::vector<int>{14 + 10}, *peer->calls);
}

TEST(BenchRun, DefaultNamesTheDefaultChoice) {
  register_bench_device(DeviceType::cpu, [](Device) { return std::make_unique<FakeDevice>(); });
  Options o;
  o.device = Device::cpu();
  o.configs = {default_config(Family::mxfp8, 64, 96)};
  o.m_values = {2};
  o.reps = 1;
  o.warmup = 0;
  o.peers = false;
  const auto rows = [&](std::vector<std::string> kernels) {
    o.kernels = std::move(kernels);
    std::vector<std::string> names;
    for (const Record& r : bench::run(o, {}).records) names.push_back(r.kernel);
    return names;
  };
  // Alone: the default choice's row and nothing else; beside a kernel: both.
  EXPECT_EQ(std::vector<std::string>{"default"}, rows({"default"}));
  EXPECT_EQ((std::vector<std::string>{"default", "reference_mxfp8"}),
            rows({"reference_mxfp8", "default"}));
  EXPECT_THROW(rows({"defaults"}), Error);
  // A tuning table's plan is named by the default choice, and the refusal says so.
  try {
    rows({"tuned_int8_scaled_mm"});
    ADD_FAILURE() << "tuned_int8_scaled_mm was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--kernel default"), std::string::npos) << e.what();
  }
}

// A device whose clock is the work the kernels below report: each call of `cost_per_row` adds that
// many microseconds a row of x.
double g_work_us = 0;
class WorkDevice final : public BenchDevice {
 public:
  std::string describe() const override { return "work"; }
  std::vector<double> time(const std::function<void(int, Stream)>& body, int warmup,
                           int reps) override {
    std::vector<double> us;
    for (int i = 0; i < warmup + reps; ++i) {
      const double before = g_work_us;
      body(i, Stream{});
      if (i >= warmup) us.push_back(g_work_us - before);
    }
    return us;
  }
  double measure_read_bandwidth() override { return 100.0; }
  int64_t copy_budget_bytes() const override { return int64_t{1} << 30; }
  double peak_ops(ScalarType) const override { return 1e12; }
  std::string peak_source() const override { return "work"; }
};

class CostKernel final : public Kernel {
 public:
  // Takes fixed_us + cost_per_row us a row of the input.
  CostKernel(std::string name, double cost_per_row, double fixed_us = 0)
      : info_{std::move(name), Provider::external, Family::fp8_block},
        cost_(cost_per_row),
        fixed_(fixed_us) {}
  const KernelInfo& info() const override { return info_; }
  Verdict supported(const Platform&) const override { return Verdict::yes(); }
  Verdict can_implement(const LayerConfig&) const override { return Verdict::yes(); }
  std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& c, const LayerWeights&,
                                                         Device) const override {
    return std::make_shared<PreparedWeights>(c);
  }
  void apply(const PreparedWeights&, const TensorView& x, const TensorView&, const TensorView&,
             Stream) const override {
    g_work_us += fixed_ + cost_ * static_cast<double>(x.rows());
  }

 private:
  KernelInfo info_;
  double cost_, fixed_;
};

// With a prune ratio, a kernel far behind the fastest at one M is not timed at the larger ones
// until the fastest's time there comes within the ratio of it, and then only if one call at that M
// is within the ratio too: a kernel of a high fixed cost is timed again where it can win (on the
// H100, a dequantizing GEMM 6x behind at one token won from 256 tokens on, and was dropped for good
// by the first rule).
TEST(BenchRun, APrunedKernelIsNotTimedAtLargerMUntilItCanWin) {
  register_bench_device(DeviceType::cpu, [](Device) { return std::make_unique<WorkDevice>(); });
  Registry::global().register_kernel(std::make_shared<CostKernel>("cost_1", 1.0),
                                     PlatformKind::cpu);
  Registry::global().register_kernel(std::make_shared<CostKernel>("cost_3", 3.0),
                                     PlatformKind::cpu);
  Registry::global().register_kernel(std::make_shared<CostKernel>("cost_9", 9.0),
                                     PlatformKind::cpu);
  Registry::global().register_kernel(std::make_shared<CostKernel>("fixed_10", 0.1, 10.0),
                                     PlatformKind::cpu);
  Options o;
  o.device = Device::cpu();
  o.configs = {default_config(Family::fp8_block, 64, 128)};
  o.kernels = {"cost_1", "cost_3", "cost_9", "fixed_10"};
  o.m_values = {1, 2, 4, 8, 32};
  o.reps = 3;
  o.warmup = 1;
  o.peers = false;
  o.rotate_bytes = 0;
  o.prune_ratio = 4;
  std::map<int64_t, std::map<std::string, double>> times;
  for (const Record& r : bench::run(o).records) times[r.m][r.kernel] = r.us;
  // At the first M one warm and one timed call each leave out at once the kernels more than 4x
  // behind the fastest (1 us): cost_9 (9 us) and fixed_10 (10.1 us).
  EXPECT_EQ(times[1].size(), 2u);
  EXPECT_DOUBLE_EQ(times[1]["cost_1"], 1.0);
  EXPECT_DOUBLE_EQ(times[1]["cost_3"], 3.0);
  // The fastest at M = 2 (2 us) is still below a quarter of their times at M = 1.
  EXPECT_EQ(times[2].size(), 2u);
  EXPECT_EQ(times[2].count("cost_9"), 0u);
  EXPECT_EQ(times[2].count("fixed_10"), 0u);
  // At M = 4 the fastest takes 4 us: both are within reach again and make one call each; fixed_10
  // (10.4 us) is timed, cost_9 (36 us) is not.
  EXPECT_NEAR(times[4]["fixed_10"], 10.4, 1e-9);
  EXPECT_DOUBLE_EQ(times[4]["cost_3"], 12.0);
  EXPECT_EQ(times[4].count("cost_9"), 0u);
  EXPECT_EQ(times[8].count("cost_9"), 0u);  // 36 us > 4 x 8 us
  // ... and fixed_10 is the fastest at M = 32.
  EXPECT_NEAR(times[32]["fixed_10"], 13.2, 1e-9);
  EXPECT_DOUBLE_EQ(times[32]["cost_1"], 32.0);
  o.prune_ratio = 0.5;
  EXPECT_THROW(bench::run(o), Error);
}

}  // namespace
}  // namespace qlinear::bench
