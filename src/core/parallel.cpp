#include "qlinear/parallel.hpp"

#include <cstring>
#include <vector>

#include "core/cuda_hooks.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"

namespace qlinear {
namespace {

using checkpoint::CheckpointLayer;
using checkpoint::Split;

// This rank's part of a layer (split_layer's, or load_layer's read from a checkpoint) as `device`
// serves it, its weights on `device`. The part is served after the split (checkpoint::serve_on,
// which decides for every path that loads a checkpoint's layer: run, inspect, Python load_layer,
// these constructors), so an FP8 layer split over ranks on a CPU or below sm_89 runs as
// fp8_weight_only exactly as it does on one rank, and an NVFP4 layer re-encoded as 128 x 128-block
// FP8 on Hopper takes its blocks from the shard's own rows and columns: a split that cuts the whole
// layer's 128-row blocks still serves.
struct Shard {
  CheckpointLayer part;
  LayerTensors weights;
};

Shard serve_shard(const CheckpointLayer& part, Device device, const ChooseOptions& options) {
  Shard s;
  s.part = checkpoint::serve_on(part, platform_of(device), options.force);
  s.weights = static_cast<const LayerTensors&>(s.part).to(device);
  return s;
}

checkpoint::TensorParallel rank_of(const Communicator& communicator, Split split) {
  return {split, communicator.rank(), communicator.size()};
}

// The shape of x with its last dimension replaced by `n`.
std::vector<int64_t> with_last(const TensorView& x, int64_t n) {
  std::vector<int64_t> shape(x.shape().begin(), x.shape().end());
  shape.back() = n;
  return shape;
}

// rows x width bytes between pitched buffers on one device (the CPU, or a GPU on `stream`).
void copy_rows(void* destination, int64_t destination_pitch, const void* source,
               int64_t source_pitch, int64_t width, int64_t rows, Device device, Stream stream) {
  if (device.is_cuda())
    return detail::device_copy_2d(destination, destination_pitch, source, source_pitch, width, rows,
                                  device, stream.handle);
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(static_cast<char*>(destination) + r * destination_pitch,
                static_cast<const char*>(source) + r * source_pitch, static_cast<size_t>(width));
}

int64_t element_bytes(ScalarType type) { return info(type).bits / 8; }

}  // namespace

// ---- column parallel -------------------------------------------------------------------------

ColumnParallelLinear::ColumnParallelLinear(const CheckpointLayer& layer,
                                           std::shared_ptr<Communicator> communicator,
                                           Device device, bool gather_output,
                                           const ChooseOptions& options)
    : communicator_(std::move(communicator)), device_(device), gather_(gather_output) {
  require(communicator_ != nullptr, "ColumnParallelLinear: no communicator");
  load(checkpoint::split_layer(layer, rank_of(*communicator_, Split::columns)), options);
}

ColumnParallelLinear::ColumnParallelLinear(const checkpoint::Checkpoint& checkpoint,
                                           std::string_view prefix,
                                           std::shared_ptr<Communicator> communicator,
                                           Device device, bool gather_output,
                                           const ChooseOptions& options)
    : communicator_(std::move(communicator)), device_(device), gather_(gather_output) {
  require(communicator_ != nullptr, "ColumnParallelLinear: no communicator");
  load(checkpoint::load_layer(checkpoint, prefix, rank_of(*communicator_, Split::columns)),
       options);
}

void ColumnParallelLinear::load(const CheckpointLayer& part, const ChooseOptions& options) {
  const Shard s = serve_shard(part, device_, options);
  shard_ = std::make_unique<QuantizedLinear>(s.part.config, s.weights.weights(), device_, options);
  if (s.part.config.bias) bias_ = Tensor::copy_of(s.part.bias, device_);
}

Tensor ColumnParallelLinear::forward(const TensorView& x, Stream stream) const {
  Tensor local = shard_->forward(x, bias_, stream);
  const int size = communicator_->size();
  if (!gather_ || size == 1) return local;
  // The ranks' [M, N/s] slices arrive one after the other; y's rows interleave them.
  const int64_t rows = local.view().rows(), part = local.size(-1);
  const Tensor gathered = Tensor::empty(local.dtype(), {size, rows, part}, device_);
  communicator_->all_gather(local, gathered, stream);
  Tensor y = Tensor::empty(local.dtype(), with_last(x, part * size), device_);
  const int64_t width = part * element_bytes(local.dtype());
  for (int r = 0; r < size; ++r)
    copy_rows(static_cast<char*>(y.data()) + r * width, width * size,
              static_cast<const char*>(gathered.data()) + r * rows * width, width, width, rows,
              device_, stream);
  return y;
}

// ---- row parallel ----------------------------------------------------------------------------

RowParallelLinear::RowParallelLinear(const CheckpointLayer& whole,
                                     std::shared_ptr<Communicator> communicator, Device device,
                                     const ChooseOptions& options)
    : communicator_(std::move(communicator)), device_(device) {
  require(communicator_ != nullptr, "RowParallelLinear: no communicator");
  load(checkpoint::split_layer(whole, rank_of(*communicator_, Split::rows)),
       whole.config.bias ? whole.bias : Tensor(), options);
}

RowParallelLinear::RowParallelLinear(const checkpoint::Checkpoint& checkpoint,
                                     std::string_view prefix,
                                     std::shared_ptr<Communicator> communicator, Device device,
                                     const ChooseOptions& options)
    : communicator_(std::move(communicator)), device_(device) {
  require(communicator_ != nullptr, "RowParallelLinear: no communicator");
  const CheckpointLayer part =
      checkpoint::load_layer(checkpoint, prefix, rank_of(*communicator_, Split::rows));
  load(part, part.config.bias ? part.bias : checkpoint::load_bias(checkpoint, prefix), options);
}

void RowParallelLinear::load(const CheckpointLayer& part, const Tensor& bias,
                             const ChooseOptions& options) {
  const Shard s = serve_shard(part, device_, options);
  config_ = s.part.config;  // the whole layer's, as served: all of K, and its bias
  config_.partition_k = 0;
  config_.bias = bias.defined();
  // The partial products are summed in fp32; the bias and the rounding come after the sum.
  LayerConfig partial = s.part.config;
  partial.bias = false;
  partial.out_type = ScalarType::fp32;
  shard_ = std::make_unique<QuantizedLinear>(partial, s.weights.weights(), device_, options);
  if (bias.defined()) bias_ = Tensor::copy_of(bias, device_);
}

Tensor RowParallelLinear::forward(const TensorView& x, Stream stream) const {
  const int64_t k = config_.part_k(), part_k = shard_->config().part_k();
  const int64_t given = x.shape().empty() ? 0 : x.size(-1);
  require(given == k || given == part_k, "RowParallelLinear: x ", x.describe(),
          " must end in K = ", k, " (the whole input) or ", part_k, " (this rank's slice)");
  Tensor slice;
  TensorView input = x;
  if (given != part_k) {
    // This rank's columns of x, contiguous.
    require(x.is_contiguous(), "RowParallelLinear: x ", x.describe(), " must be contiguous");
    slice = Tensor::empty(x.dtype(), with_last(x, part_k), device_);
    const int64_t element = element_bytes(x.dtype());
    copy_rows(slice.data(), part_k * element,
              static_cast<const char*>(x.data()) + communicator_->rank() * part_k * element,
              k * element, part_k * element, x.rows(), device_, stream);
    input = slice;
  }
  const Tensor sum = shard_->forward(input, {}, stream);
  communicator_->all_reduce_sum(sum, stream);
  Tensor y = Tensor::empty(config_.out_type, with_last(x, config_.part_n()), device_);
  if (device_.is_cuda()) {
    detail::device_add_bias(sum, bias_, y, stream.handle);
    return y;
  }
  const int64_t n = config_.part_n();
  const float* partial = sum.data_as<const float>();
  for (int64_t i = 0; i < y.numel(); ++i) {
    const auto bias = static_cast<float>(bias_.defined() ? load_value(bias_, i % n) : 0.0);
    store_value(y, i, partial[i] + bias);  // the fp32 sum, rounded once to the output type
  }
  return y;
}

}  // namespace qlinear
