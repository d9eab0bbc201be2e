// Tensor-parallel layers over NCCL, one rank per visible GPU (a world of one GPU included): every
// conformance config of every family that the split admits, by columns and by rows, each rank's
// output against the float64 oracle built from the shards (tests/parallel_test_support.hpp), and
// every rank holding the same bits. CTest labels gpu and multigpu (scripts/device-run runs it).
#include <cstdlib>
#include <cstring>

#include "../parallel_test_support.hpp"
#include "qlinear/parallel.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::parallel_test {
namespace {

TEST(ParallelNccl, EveryFormatOverEveryGpu) {
  if (!built_with_nccl()) GTEST_SKIP() << "qlinear was built without NCCL";
  // Each family split as it is: on Hopper an nvfp4 layer would otherwise be served as fp8_block
  // (serving_config), which the oracle of its NVFP4 shards does not model, and whose 128-row
  // blocks the conformance shapes' shards cut. tests/checkpoint/nvfp4_as_fp8_block_test.cpp
  // checks that serving.
  ::setenv("QLINEAR_NVFP4_AS_FP8_BLOCK", "off", 1);
  const int size = static_cast<int>(cuda_platforms().size());
  ASSERT_GE(size, 1);
  const int64_t m = 5;
  int layers = 0;
  for (Family family : all_families()) {
    for (LayerConfig config : conformance_configs(family)) {
      config.bias = true;
      const CheckpointLayer whole = as_checkpoint_layer(make_random_layer(config, 21));
      const Tensor x = random_x(config.act_type, {m, config.k}, 22);
      for (Split split : {Split::columns, Split::rows}) {
        const std::vector<CheckpointLayer> shards = shards_of(whole, split, size);
        if (shards.empty()) continue;
        ++layers;
        const Expected e = oracle(shards, inputs_of(x, shards, split), whole, m);
        const ThreadGroup group(size, true);
        std::vector<Tensor> outputs(size);
        std::vector<double> tolerances(size);
        group.run([&](int rank, Device device, std::shared_ptr<Communicator> communicator) {
          const Tensor xd = Tensor::copy_of(x, device);
          if (split == Split::columns) {
            const ColumnParallelLinear layer(whole, communicator, device);
            outputs[rank] = Tensor::copy_of(layer.forward(xd), Device::cpu());
            tolerances[rank] = tolerance_of(layer.shard().kernel(), layer.shard().config(), split,
                                            size, config.out_type);
          } else {
            const RowParallelLinear layer(whole, communicator, device);
            outputs[rank] = Tensor::copy_of(layer.forward(xd), Device::cpu());
            tolerances[rank] = tolerance_of(layer.shard().kernel(), layer.shard().config(), split,
                                            size, config.out_type);
          }
        });
        const std::string what = cat(config.describe(), " ", name(split), " over ", size, " GPUs");
        for (int r = 0; r < size; ++r) {
          expect_close(outputs[r], e, tolerances[r], cat(what, " rank ", r));
          ASSERT_EQ(std::memcmp(outputs[r].data(), outputs[0].data(), outputs[0].nbytes()), 0)
              << what;
        }
      }
    }
  }
  EXPECT_GE(layers, 9);
}

}  // namespace
}  // namespace qlinear::parallel_test
