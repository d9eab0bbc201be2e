// Tensor-parallel layers on the CPU, ranks as threads of an in-process group: for every
// conformance config of every family, split by columns and by rows over 2 and 4 ranks, each rank's
// output is checked against a float64 oracle built from the shards (column: the whole layer's
// product; row: the sum of the shards' products, each shard quantizing its own slice of x, plus the
// bias once). Splits that would cut a group or a block are refused with the reason.
#include "qlinear/parallel.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"

namespace qlinear {
namespace {

using checkpoint::CheckpointLayer;
using checkpoint::Split;

Tensor random_x(ScalarType type, std::vector<int64_t> shape, uint64_t seed) {
  return random_activations(type, shape, seed);
}

CheckpointLayer as_checkpoint_layer(const RandomLayer& r) {
  CheckpointLayer l;
  l.name = "test";
  l.config = r.config;
  static_cast<LayerTensors&>(l) = r;
  if (r.config.bias) l.bias = random_x(ScalarType::bf16, {r.config.n}, 77);
  return l;
}

// Runs body(rank, communicator) on `size` threads of one in-process group; rethrows the first
// error.
void run_ranks(int size, const std::function<void(int, std::shared_ptr<Communicator>)>& body) {
  const auto group = make_local_group(size);
  std::vector<std::exception_ptr> errors(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r, group[r]);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// x[:, k0 : k0 + k] as a contiguous tensor.
Tensor columns_of(const Tensor& x, int64_t k0, int64_t k) {
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
Expected oracle(const std::vector<CheckpointLayer>& shards, const std::vector<Tensor>& xs,
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

void expect_close(const Tensor& y, const Expected& e, double tolerance, const std::string& what) {
  ASSERT_EQ(y.numel(), static_cast<int64_t>(e.value.size())) << what;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const double error = std::fabs(load_value(y, i) - e.value[i]);
    ASSERT_LE(error, tolerance * e.magnitude[i] + 1e-30)
        << what << " at " << i << ": " << load_value(y, i) << " vs " << e.value[i];
  }
}

TEST(TensorParallelLayers, EveryFormatSplitByColumnsAndRows) {
  int layers = 0, refused = 0;
  const int64_t m = 3;
  for (Family family : all_families()) {
    for (LayerConfig config : conformance_configs(family)) {
      config.bias = true;
      const CheckpointLayer whole = as_checkpoint_layer(make_random_layer(config, 5));
      const Tensor x = random_x(config.act_type, {m, config.k}, 6);
      for (Split split : {Split::columns, Split::rows}) {
        for (int size : {2, 4}) {
          std::vector<CheckpointLayer> shards;
          try {
            for (int r = 0; r < size; ++r)
              shards.push_back(checkpoint::split_layer(whole, {split, r, size}));
          } catch (const Error& e) {
            EXPECT_THAT(e.what(), ::testing::AnyOf(::testing::HasSubstr("is not a multiple of"),
                                                   ::testing::HasSubstr("would cut")));
            ++refused;
            continue;
          }
          ++layers;
          const std::string what = cat(config.describe(), " ", name(split), " x", size);
          std::vector<Tensor> xs;
          for (int r = 0; r < size; ++r)
            xs.push_back(split == Split::rows ? columns_of(x, r * shards[r].config.part_k(),
                                                           shards[r].config.part_k())
                                              : x);
          const Expected e = oracle(shards, xs, whole, m);
          std::vector<Tensor> outputs(size);
          std::vector<double> tolerances(size);
          run_ranks(size, [&](int rank, std::shared_ptr<Communicator> communicator) {
            if (split == Split::columns) {
              const ColumnParallelLinear layer(whole, communicator);
              outputs[rank] = layer.forward(x);
              tolerances[rank] = layer.shard().kernel().tolerance(layer.shard().config());
            } else {
              const RowParallelLinear layer(whole, communicator);
              // Rank 0 passes the whole x, the others their slice (as a column-parallel layer
              // without the gather leaves it).
              outputs[rank] = layer.forward(rank == 0 ? x : xs[rank]);
              // The shards' fp32 sums, the fp32 sum over ranks and the bias, one output rounding.
              tolerances[rank] = layer.shard().kernel().tolerance(layer.shard().config()) +
                                 (size + 2) * unit_roundoff(ScalarType::fp32) +
                                 unit_roundoff(config.out_type);
            }
          });
          for (int r = 0; r < size; ++r) {
            ASSERT_EQ(outputs[r].dtype(), config.out_type) << what;
            expect_close(outputs[r], e, tolerances[r], cat(what, " rank ", r));
            // Every rank holds the same bits.
            ASSERT_EQ(std::memcmp(outputs[r].data(), outputs[0].data(), outputs[0].nbytes()), 0)
                << what;
          }
        }
      }
    }
  }
  EXPECT_GE(layers, 30);
  EXPECT_GE(refused, 1);  // a 4-way split of a small grouped layer cuts a group
}

TEST(TensorParallelLayers, ColumnSplitWithoutGatherKeepsTheRanksFeatures) {
  LayerConfig config = default_config(Family::int8_scaled_mm, 64, 96);
  config.bias = true;
  const CheckpointLayer whole = as_checkpoint_layer(make_random_layer(config, 9));
  const Tensor x = random_x(config.act_type, {2, 96}, 10);
  run_ranks(2, [&](int rank, std::shared_ptr<Communicator> communicator) {
    const ColumnParallelLinear layer(whole, communicator, Device::cpu(), false);
    const Tensor y = layer.forward(x);
    EXPECT_EQ(y.size(-1), 32);
    const ColumnParallelLinear gathered(whole, communicator);
    const Tensor all = gathered.forward(x);
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 32; ++j)
        EXPECT_EQ(load_code(y, i * 32 + j), load_code(all, i * 64 + rank * 32 + j));
  });
}

TEST(TensorParallelLayers, BadInputSaysWhat) {
  LayerConfig config = default_config(Family::int8_scaled_mm, 64, 96);
  const CheckpointLayer whole = as_checkpoint_layer(make_random_layer(config, 9));
  run_ranks(2, [&](int, std::shared_ptr<Communicator> communicator) {
    const RowParallelLinear layer(whole, communicator);
    const Tensor x = random_x(config.act_type, {2, 40}, 10);
    EXPECT_THAT([&] { layer.forward(x); },
                ::testing::ThrowsMessage<Error>(::testing::HasSubstr("must end in K = 96")));
  });
  const auto one = make_local_group(1);
  const Tensor half = Tensor::empty(ScalarType::bf16, {4});
  EXPECT_THAT([&] { one[0]->all_reduce_sum(half, {}); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("must be fp32")));
  EXPECT_THAT([&] { make_local_group(0); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("expected at least 1")));
  if (!built_with_nccl())
    EXPECT_THAT([&] { make_nccl_unique_id(); },
                ::testing::ThrowsMessage<Error>(::testing::HasSubstr("without NCCL")));
}

}  // namespace
}  // namespace qlinear
