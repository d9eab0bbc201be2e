// Tensor-parallel layers on the CPU, ranks as threads of an in-process group: for every
// conformance config of every family, split by columns and by rows over 2 and 4 ranks, each rank's
// output is checked against the float64 oracle built from the shards
// (tests/parallel_test_support.hpp). Splits that would cut a group or a block are refused with the
// reason.
#include "qlinear/parallel.hpp"

#include <cstring>
#include <filesystem>

#include "../parallel_test_support.hpp"
#include "checkpoint/random_checkpoints.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::parallel_test {
namespace {

// Runs body(rank, communicator) on `size` threads of one in-process group.
void run_ranks(int size, const std::function<void(int, std::shared_ptr<Communicator>)>& body) {
  ThreadGroup(size, false).run([&](int r, Device, std::shared_ptr<Communicator> c) { body(r, c); });
}

TEST(TensorParallelLayers, EveryFormatSplitByColumnsAndRows) {
  int layers = 0, refused = 0;
  const int64_t m = 3;
  for (Family family : all_families()) {
    for (LayerConfig config : conformance_configs(family)) {
      config.bias = true;
      // As the layers serve it on the CPU (fp8_scaled_mm as fp8_weight_only): the oracle's config.
      const CheckpointLayer whole = checkpoint::serve_on(
          as_checkpoint_layer(make_random_layer(config, 5)), platform_of(Device::cpu()));
      const Tensor x = random_x(config.act_type, {m, config.k}, 6);
      for (Split split : {Split::columns, Split::rows}) {
        for (int size : {2, 4}) {
          const std::vector<CheckpointLayer> shards = shards_of(whole, split, size);
          if (shards.empty()) {
            ++refused;
            continue;
          }
          ++layers;
          const std::string what = cat(config.describe(), " ", name(split), " x", size);
          const std::vector<Tensor> xs = inputs_of(x, shards, split);
          const Expected e = oracle(shards, xs, whole, m);
          std::vector<Tensor> outputs(size);
          std::vector<double> tolerances(size);
          run_ranks(size, [&](int rank, std::shared_ptr<Communicator> communicator) {
            if (split == Split::columns) {
              const ColumnParallelLinear layer(whole, communicator);
              outputs[rank] = layer.forward(x);
              tolerances[rank] = tolerance_of(layer.shard().kernel(), layer.shard().config(), split,
                                              size, config.out_type);
            } else {
              const RowParallelLinear layer(whole, communicator);
              // Rank 0 passes the whole x, the others their slice (as a column-parallel layer
              // without the gather leaves it).
              outputs[rank] = layer.forward(rank == 0 ? x : xs[rank]);
              tolerances[rank] = tolerance_of(layer.shard().kernel(), layer.shard().config(), split,
                                              size, config.out_type);
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

// An FP8 checkpoint's layer split over ranks on the CPU is served as it is on one rank
// (checkpoint::serve_on): fp8_weight_only, x kept in 16 bits, matching the W8A16 oracle; a forced
// kernel of its own family keeps fp8_scaled_mm, as the single-rank path does.
TEST(TensorParallelLayers, AnFp8LayerIsServedAsOnOneRank) {
  LayerConfig config = default_config(Family::fp8_scaled_mm, 64, 96);
  config.bias = true;
  const CheckpointLayer whole = as_checkpoint_layer(make_random_layer(config, 11));
  const CheckpointLayer single = checkpoint::serve_on(whole, platform_of(Device::cpu()));
  ASSERT_EQ(single.config.family, Family::fp8_weight_only);
  const int64_t m = 3;
  const Tensor x = random_x(config.act_type, {m, config.k}, 12);
  ChooseOptions forced;
  forced.force = "reference_fp8_scaled_mm";
  for (Split split : {Split::columns, Split::rows}) {
    const std::vector<CheckpointLayer> shards = shards_of(single, split, 2);
    ASSERT_EQ(shards.size(), 2u);
    const Expected e = oracle(shards, inputs_of(x, shards, split), single, m);
    run_ranks(2, [&](int rank, std::shared_ptr<Communicator> communicator) {
      const std::string what = cat(name(split), " rank ", rank);
      // The family rank `rank` runs, and (with check) its output against the oracle.
      const auto served = [&](const ChooseOptions& options, bool check) {
        const Device cpu = Device::cpu();
        std::unique_ptr<ColumnParallelLinear> column;
        std::unique_ptr<RowParallelLinear> row;
        if (split == Split::columns)
          column = std::make_unique<ColumnParallelLinear>(whole, communicator, cpu, true, options);
        else
          row = std::make_unique<RowParallelLinear>(whole, communicator, cpu, options);
        const QuantizedLinear& shard = column ? column->shard() : row->shard();
        if (check)
          expect_close(column ? column->forward(x) : row->forward(x), e,
                       tolerance_of(shard.kernel(), shard.config(), split, 2, config.out_type),
                       what);
        return shard.config().family;
      };
      EXPECT_EQ(served({}, true), Family::fp8_weight_only) << what;
      EXPECT_EQ(served(forced, false), Family::fp8_scaled_mm) << what;
    });
  }
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

// From a checkpoint, each rank reads its shard alone (load_layer with its TensorParallel, and the
// whole bias for a row split): the layers give the same bits as those built from the whole layer,
// or refuse the split with the same message, for every format.
TEST(TensorParallelLayers, FromACheckpointAsFromTheWholeLayer) {
  using checkpoint::testing::Format;
  const int64_t n = 48, k = 768, m = 3;
  uint64_t seed = 20;
  int computed = 0;
  for (const Format& format : checkpoint::testing::all_formats()) {
    if (!format.fits(n, k)) continue;
    const auto dir = std::filesystem::temp_directory_path() /
                     cat("qlinear_parallel_", getpid(), "_", format.name);
    checkpoint::testing::write_checkpoint(dir, format,
                                          checkpoint::testing::random_files(format, n, k, seed++));
    const checkpoint::Checkpoint ckpt = checkpoint::Checkpoint::open(dir.string());
    const CheckpointLayer whole = checkpoint::load_layer(ckpt, checkpoint::testing::kLayer);
    const Tensor x = random_x(whole.config.act_type, {m, k}, seed++);
    for (Split split : {Split::columns, Split::rows}) {
      std::vector<std::string> outcomes[2] = {std::vector<std::string>(2),
                                              std::vector<std::string>(2)};
      run_ranks(2, [&](int rank, std::shared_ptr<Communicator> communicator) {
        for (int from_files = 0; from_files < 2; ++from_files) try {
            const auto prefix = checkpoint::testing::kLayer;
            const Tensor y = split == Split::columns
                                 ? (from_files ? ColumnParallelLinear(ckpt, prefix, communicator)
                                               : ColumnParallelLinear(whole, communicator))
                                       .forward(x)
                                 : (from_files ? RowParallelLinear(ckpt, prefix, communicator)
                                               : RowParallelLinear(whole, communicator))
                                       .forward(x);
            outcomes[from_files][rank].assign(static_cast<const char*>(y.data()),
                                              static_cast<size_t>(y.nbytes()));
          } catch (const Error& e) {
            outcomes[from_files][rank] = cat("refused: ", e.what());
          }
      });
      for (int rank = 0; rank < 2; ++rank) {
        EXPECT_EQ(outcomes[1][rank], outcomes[0][rank])
            << format.name << " " << name(split) << " rank " << rank;
        computed += !outcomes[0][rank].starts_with("refused");
      }
    }
    std::filesystem::remove_all(dir);
  }
  EXPECT_GE(computed, 140);  // all but the block-FP8 column splits (24 rows cut a 128-row block)
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
}  // namespace qlinear::parallel_test
