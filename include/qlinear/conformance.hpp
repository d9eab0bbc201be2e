// Random layers and the conformance harness: any kernel against the reference on fresh random
// data, with its output poisoned first. Used by `qlinear check`, the test suites and `bench`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qlinear/kernel.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear {

// A layer's canonical tensors with random contents that look like a real checkpoint's: codes
// spread over the type's range (never all zero), scales of a plausible size, a random act-order
// permutation, calibrated static scales. Deterministic in `seed`. Tensors are on the CPU.
struct RandomLayer : LayerTensors {
  LayerConfig config;
};
RandomLayer make_random_layer(const LayerConfig& config, uint64_t seed);

// Normal(0, 1) values rounded to dtype, with a few outliers of magnitude up to 8 (so that
// saturation and wide per-token ranges are exercised).
Tensor random_activations(ScalarType dtype, std::span<const int64_t> shape, uint64_t seed);

struct ConformanceCase {
  LayerConfig config;
  int64_t m = 1;
  uint64_t seed = 1;
  ScalarType bias_type = ScalarType::fp32;  // of the random bias, when the config has one
};

struct ConformanceResult {
  // max over outputs of |y - ref| / (Σ_k |x̂·ŵ| + |bias|): the error as a fraction of the sum of
  // absolute terms, which does not blow up where the terms cancel.
  double max_error = 0;
  double tolerance = 0;
  bool pass = false;
  std::string detail;  // where the largest error is, or what failed
};

// Builds a random layer and input for `c`, runs `kernel` on `device` (weights and x copied there,
// the output poisoned with NaN first) and compares with the reference on the CPU.
ConformanceResult run_against_reference(const Kernel& kernel, const ConformanceCase& c, Device device);

// The configs `qlinear check` and the conformance tests run for a family: its common variants,
// with N and K that are not multiples of any tile.
std::vector<LayerConfig> conformance_configs(Family family);
// The M values the conformance runs use (1, a small odd M, one past a tile).
std::vector<int64_t> conformance_m_values();

}  // namespace qlinear
