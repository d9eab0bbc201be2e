// Every kernel on the cuda platform list against the reference on the first GPU: every
// conformance config it implements, M in {1, 7, 67, 300}, fresh random data, output poisoned.
#include "qlinear/conformance.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"
#include "qlinear/registry.hpp"

namespace qlinear {
namespace {

struct Case {
  const Kernel* kernel;
  LayerConfig config;
  int index;  // of the config within its family's list
};

std::vector<Case> cases() {
  std::vector<Case> all;
  for (const Kernel* kernel : Registry::global().kernels(PlatformKind::cuda)) {
    int index = 0;
    for (const LayerConfig& config : conformance_configs(kernel->family())) {
      if (kernel->can_implement(config)) all.push_back({kernel, config, index});
      ++index;
    }
  }
  return all;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.kernel->name() << " " << c.config.describe();
}

class GpuConformance : public ::testing::TestWithParam<Case> {};

TEST_P(GpuConformance, MatchesReference) {
  ASSERT_FALSE(cuda_platforms().empty()) << "the gpu tests need a CUDA device";
  const Case& c = GetParam();
  ASSERT_TRUE(c.kernel->supported(cuda_platforms()[0]))
      << c.kernel->supported(cuda_platforms()[0]).reason();
  for (int64_t m : {1, 7, 67, 300}) {
    const ConformanceResult r =
        run_against_reference(*c.kernel, {c.config, m, 11}, Device::cuda(0));
    EXPECT_TRUE(r.pass) << c.config.describe() << " M=" << m << ": max error " << r.max_error
                        << " > tolerance " << r.tolerance << "; " << r.detail;
    std::printf("[ result ] %s %s M=%lld max_error %.3g tolerance %.3g\n", c.kernel->name().c_str(),
                c.config.describe().c_str(), static_cast<long long>(m), r.max_error, r.tolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, GpuConformance, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.kernel->name() + "_" +
                                  std::to_string(info.param.index);
                         });

// The emulation kernels with the weights dequantized per call (QLINEAR_EMULATION_PER_CALL=1).
TEST(GpuEmulationPerCall, MatchesReference) {
  ASSERT_FALSE(cuda_platforms().empty()) << "the gpu tests need a CUDA device";
  ASSERT_EQ(setenv("QLINEAR_EMULATION_PER_CALL", "1", 1), 0);
  for (Family family : all_families()) {
    const Kernel* kernel = Registry::global().find(cat("emulation_", name(family)));
    ASSERT_NE(kernel, nullptr);
    for (const LayerConfig& config : conformance_configs(family)) {
      const ConformanceResult r = run_against_reference(*kernel, {config, 67, 12}, Device::cuda(0));
      EXPECT_TRUE(r.pass) << config.describe() << ": max error " << r.max_error << " > "
                          << r.tolerance << "; " << r.detail;
    }
  }
  unsetenv("QLINEAR_EMULATION_PER_CALL");
}

}  // namespace
}  // namespace qlinear
