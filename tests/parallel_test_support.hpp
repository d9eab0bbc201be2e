// What the tensor-parallel layer tests share (tests/core/parallel_test.cpp on the CPU,
// tests/gpu/parallel_nccl_test.cpp over NCCL): random layers as checkpoint layers and the float64
// oracle built from the shards (column: the whole layer's product; row:
// the sum of the shards' products, each shard quantizing its own slice of x, plus the bias once).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "qlinear/checkpoint.hpp"
#include "qlinear/communicator.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::parallel_test {

using checkpoint::CheckpointLayer;
using checkpoint::Split;

inline Tensor random_x(ScalarType type, std::vector<int64_t> shape, uint64_t seed) {
  return random_activations(type, shape, seed);
}

inline CheckpointLayer as_checkpoint_layer(const RandomLayer& r) {
  CheckpointLayer l;
  l.name = "test";
  l.config = r.config;
  static_cast<LayerTensors&>(l) = r;
  if (r.config.bias) l.bias = random_x(ScalarType::bf16, {r.config.n}, 77);
  return l;
}

// x[:, k0 : k0 + k] as a contiguous tensor.
inline Tensor columns_of(const Tensor& x, int64_t k0, int64_t k) {
  const int64_t m = x.size(0), full = x.size(1);
  Tensor out = Tensor::empty(x.dtype(), {m, k});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j) store_code(out, i * k + j, load_code(x, i * full + k0 + j));
  return out;
}

struct Expected {
  std::vector<double> value, magnitude;  // [M, N]
};

// Σ over the listed shards of x̂·ŵᵀ (each shard quantizing its slice of x) plus the bias.
inline Expected oracle(const std::vector<CheckpointLayer>& shards, const std::vector<Tensor>& xs,
                       const CheckpointLayer& whole, int64_t m) {
  const int64_t n = whole.config.n;
  Expected e{std::vector<double>(m * n, 0.0), std::vector<double>(m * n, 0.0)};
  for (size_t s = 0; s < shards.size(); ++s) {
    LayerConfig c = shards[s].config;
    const LayerWeights w = shards[s].weights();
    const auto x_hat = reference::activations_as_used(c, w, xs[s]);
    const auto w_hat = reference::dequantize_weights(c, w);
    const auto v = reference::linear_f64(x_hat, w_hat, m, c.part_n(), c.part_k(), {});
    const auto a = reference::magnitude_f64(x_hat, w_hat, m, c.part_n(), c.part_k(), {});
    const int64_t n0 = c.part_n() == n ? 0 : static_cast<int64_t>(s) * c.part_n();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < c.part_n(); ++j) {
        e.value[i * n + n0 + j] += v[i * c.part_n() + j];
        e.magnitude[i * n + n0 + j] += a[i * c.part_n() + j];
      }
  }
  if (whole.config.bias)
    for (int64_t i = 0; i < m * n; ++i) {
      e.value[i] += load_value(whole.bias, i % n);
      e.magnitude[i] += std::fabs(load_value(whole.bias, i % n));
    }
  return e;
}

inline void expect_close(const Tensor& y, const Expected& e, double tolerance,
                         const std::string& what) {
  ASSERT_EQ(y.numel(), static_cast<int64_t>(e.value.size())) << what;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const double error = std::fabs(load_value(y, i) - e.value[i]);
    ASSERT_LE(error, tolerance * e.magnitude[i] + 1e-30)
        << what << " at " << i << ": " << load_value(y, i) << " vs " << e.value[i];
  }
}

// The shards of a split of `whole` over `size` ranks, or an empty list when the split is refused
// (the refusal must say why).
inline std::vector<CheckpointLayer> shards_of(const CheckpointLayer& whole, Split split, int size) {
  std::vector<CheckpointLayer> shards;
  try {
    for (int r = 0; r < size; ++r)
      shards.push_back(checkpoint::split_layer(whole, {split, r, size}));
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::AnyOf(::testing::HasSubstr("is not a multiple of"),
                                           ::testing::HasSubstr("would cut")));
    shards.clear();
  }
  return shards;
}

// Each rank's slice of x: x itself for a column split, its columns for a row split.
inline std::vector<Tensor> inputs_of(const Tensor& x, const std::vector<CheckpointLayer>& shards,
                                     Split split) {
  std::vector<Tensor> xs;
  for (size_t r = 0; r < shards.size(); ++r) {
    const int64_t k = shards[r].config.part_k();
    xs.push_back(split == Split::rows ? columns_of(x, static_cast<int64_t>(r) * k, k) : x);
  }
  return xs;
}

// The bound of a rank's output: the shard kernel's, plus for a row split the shards' fp32 sums,
// the fp32 sum over the ranks and the bias, and one rounding to the output type.
inline double tolerance_of(const Kernel& kernel, const LayerConfig& shard, Split split, int size,
                           ScalarType out_type) {
  const double own = kernel.tolerance(shard);
  if (split == Split::columns) return own;
  return own + (size + 2) * unit_roundoff(ScalarType::fp32) + unit_roundoff(out_type);
}

}  // namespace qlinear::parallel_test
