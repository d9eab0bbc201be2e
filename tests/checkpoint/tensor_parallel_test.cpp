// split_layer on random canonical layers of every conformance config of every family: each rank's
// dequantized weight is exactly its slice of the full one, the bias follows the split, and a split
// that would cut a group, a block or a packed byte is refused with the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qlinear/checkpoint.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/reference.hpp"

namespace qlinear::checkpoint {
namespace {

CheckpointLayer as_checkpoint_layer(const RandomLayer& r) {
  CheckpointLayer l;
  l.name = "test";
  l.config = r.config;
  static_cast<LayerTensors&>(l) = r;
  if (r.config.bias) {
    l.bias = Tensor::empty(ScalarType::fp32, {r.config.n});
    for (int64_t i = 0; i < r.config.n; ++i) l.bias.data_as<float>()[i] = static_cast<float>(i);
  }
  return l;
}

TEST(TensorParallel, ShardsDequantizeToSlicesOfTheFullWeight) {
  int splits = 0;
  for (Family family : all_families()) {
    for (LayerConfig config : conformance_configs(family)) {
      config.bias = true;
      const CheckpointLayer full = as_checkpoint_layer(make_random_layer(config, 3));
      const std::vector<double> w = reference::dequantize_weights(full.config, full.weights());
      const int64_t n = config.n, k = config.k;
      for (Split split : {Split::columns, Split::rows}) {
        for (int size : {2, 4}) {
          for (int rank = 0; rank < size; ++rank) {
            CheckpointLayer part;
            try {
              part = split_layer(full, {split, rank, size});
            } catch (const Error& e) {
              // Refusals say why: a size that does not divide, or a cut group / block / byte.
              EXPECT_THAT(e.what(), ::testing::AnyOf(::testing::HasSubstr("is not a multiple of"),
                                                     ::testing::HasSubstr("would cut")))
                  << config.describe();
              continue;
            }
            ++splits;
            const LayerConfig& c = part.config;
            const std::vector<double> wp = reference::dequantize_weights(c, part.weights());
            const int64_t n0 = split == Split::columns ? rank * c.part_n() : 0;
            const int64_t k0 = split == Split::rows ? rank * c.part_k() : 0;
            for (int64_t i = 0; i < c.part_n(); ++i)
              for (int64_t j = 0; j < c.part_k(); ++j)
                ASSERT_EQ(wp[i * c.part_k() + j], w[(n0 + i) * k + k0 + j])
                    << config.describe() << " " << name(split) << " rank " << rank << "/" << size;
            const bool has_bias = split == Split::columns || rank == 0;
            ASSERT_EQ(c.bias, has_bias);
            if (has_bias) EXPECT_EQ(part.bias.data_as<float>()[0], static_cast<float>(n0));
            EXPECT_EQ(c.n, n);
            EXPECT_EQ(c.k, k);
          }
        }
      }
    }
  }
  EXPECT_GT(splits, 100);
}

TEST(TensorParallel, ActOrderRowShardsKeepEveryGroup) {
  LayerConfig c = default_config(Family::mixed_precision, 64, 512);
  c.act_order = true;
  const CheckpointLayer part =
      split_layer(as_checkpoint_layer(make_random_layer(c, 1)), {Split::rows, 1, 2});
  EXPECT_EQ(part.config.part_k(), 256);
  EXPECT_EQ(part.weight_scale.size(1), 4);  // 512 / 128 groups: g_idx of a slice may name any
  EXPECT_EQ(part.g_idx.size(0), 256);
}

TEST(TensorParallel, RefusesCutsWithTheReason) {
  const CheckpointLayer block =
      as_checkpoint_layer(make_random_layer(default_config(Family::fp8_block, 384, 512), 1));
  EXPECT_THAT(
      [&] {
        split_layer(block, {Split::columns, 0, 2});
      },
      ::testing::ThrowsMessage<Error>(
          ::testing::HasSubstr("each rank's 192 rows would cut a 128-row weight block")));
  const CheckpointLayer group =
      as_checkpoint_layer(make_random_layer(default_config(Family::mixed_precision, 64, 384), 1));
  EXPECT_THAT(
      [&] {
        split_layer(group, {Split::rows, 0, 2});
      },
      ::testing::ThrowsMessage<Error>(
          ::testing::HasSubstr("each rank's 192 columns would cut a scale group of 128")));
  EXPECT_THAT(
      [&] {
        split_layer(group, {Split::rows, 2, 2});
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("the rank must be in [0, size)")));
  EXPECT_EQ(default_split("model.layers.3.mlp.down_proj"), Split::rows);
  EXPECT_EQ(default_split("model.layers.3.self_attn.o_proj"), Split::rows);
  EXPECT_EQ(default_split("model.layers.3.self_attn.qkv_proj"), Split::columns);
}

}  // namespace
}  // namespace qlinear::checkpoint
