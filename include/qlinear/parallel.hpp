// Tensor-parallel quantized linear layers, as Megatron and vLLM split them:
//   ColumnParallelLinear: rank r holds output features [r·N/s, (r+1)·N/s) (and that slice of the
//     bias); y = the ranks' slices side by side (all-gather), or this rank's slice alone.
//   RowParallelLinear: rank r holds input features [r·K/s, (r+1)·K/s) and reads that slice of x;
//     each rank's partial product is summed over the ranks (all-reduce) in fp32 and the bias is
//     added once, after the sum, before the one rounding to the output type.
// The layer is first served on the device's platform (checkpoint::serve_on, as every path that
// loads a checkpoint does: an fp8_scaled_mm layer on a CPU or below sm_89 runs as fp8_weight_only,
// an nvfp4 layer on sm_89 .. sm_9x as fp8_block, unless a kernel of its own family is forced). Each
// rank then keeps its shard of the layer (checkpoint::split_layer: groups, blocks, act order and
// bias cut consistently, or a refusal that says why), chooses a kernel for the shard's config and
// converts the shard to that kernel's layout, like QuantizedLinear. From a checkpoint, a rank reads
// and converts its shard alone (checkpoint::load_layer with the rank's TensorParallel), never the
// other ranks' rows or columns of the layer.
#pragma once

#include <memory>

#include "qlinear/checkpoint.hpp"
#include "qlinear/communicator.hpp"
#include "qlinear/linear.hpp"

namespace qlinear {

class ColumnParallelLinear {
 public:
  // `layer` is the whole layer (as load_layer gives it); the communicator says rank and size.
  ColumnParallelLinear(const checkpoint::CheckpointLayer& layer,
                       std::shared_ptr<Communicator> communicator, Device device = Device::cpu(),
                       bool gather_output = true, const ChooseOptions& options = {});
  // This rank's shard of the layer `prefix` of a checkpoint, read and converted alone.
  ColumnParallelLinear(const checkpoint::Checkpoint& checkpoint, std::string_view prefix,
                       std::shared_ptr<Communicator> communicator, Device device = Device::cpu(),
                       bool gather_output = true, const ChooseOptions& options = {});
  // x [M, K] -> y [M, N] (gathered) or [M, N / size] (this rank's features).
  Tensor forward(const TensorView& x, Stream stream = {}) const;
  const QuantizedLinear& shard() const { return *shard_; }

 private:
  // Serves this rank's part (from split_layer or load_layer) on the device.
  void load(const checkpoint::CheckpointLayer& part, const ChooseOptions& options);

  std::shared_ptr<Communicator> communicator_;
  std::unique_ptr<QuantizedLinear> shard_;
  Tensor bias_;  // this rank's slice, on the device
  Device device_;
  bool gather_;
};

class RowParallelLinear {
 public:
  RowParallelLinear(const checkpoint::CheckpointLayer& layer,
                    std::shared_ptr<Communicator> communicator, Device device = Device::cpu(),
                    const ChooseOptions& options = {});
  // This rank's shard of the layer `prefix` of a checkpoint, read and converted alone (and the
  // whole bias, added after the sum).
  RowParallelLinear(const checkpoint::Checkpoint& checkpoint, std::string_view prefix,
                    std::shared_ptr<Communicator> communicator, Device device = Device::cpu(),
                    const ChooseOptions& options = {});
  // x [M, K] (this rank reads its slice) or [M, K / size] (already this rank's slice, as a
  // column-parallel layer without the gather leaves it) -> y [M, N], the same on every rank.
  Tensor forward(const TensorView& x, Stream stream = {}) const;
  const QuantizedLinear& shard() const { return *shard_; }

 private:
  // Serves this rank's part (from split_layer or load_layer) on the device; `bias` is the whole
  // layer's, or undefined.
  void load(const checkpoint::CheckpointLayer& part, const Tensor& bias,
            const ChooseOptions& options);

  std::shared_ptr<Communicator> communicator_;
  std::unique_ptr<QuantizedLinear> shard_;  // no bias, fp32 out
  Tensor bias_;                             // the whole bias, on the device
  LayerConfig config_;                      // the whole layer's
  Device device_;
};

}  // namespace qlinear
