// `qlinear bench --tp-size S`: the tensor-parallel layers (qlinear/parallel.hpp) timed with their
// collective, and the share of it.
#include <algorithm>
#include <barrier>
#include <chrono>

#include "bench/median.hpp"
#include "qlinear/bench.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/parallel.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::bench {
namespace {

using checkpoint::CheckpointLayer;
using checkpoint::Split;
using Clock = std::chrono::steady_clock;

// Waits for the device's work on the default stream: a one-element copy to the host.
void finish(const Tensor& y) {
  if (!y.device().is_cuda()) return;
  (void)Tensor::copy_of(TensorView(y.data(), y.dtype(), {1}, y.device()), Device::cpu());
}

}  // namespace

ParallelRun run_parallel(const Options& o, int size,
                         const std::function<void(const ParallelRecord&)>& on_record) {
  require(size >= 1, "bench: --tp-size ", size, "; expected at least 1");
  require(o.reps > 0, "bench: reps is ", o.reps, "; expected at least 1");
  const bool gpu = o.device.is_cuda();
  ParallelRun result;
  for (const LayerConfig& config : o.configs) {
    CheckpointLayer whole;
    whole.name = "bench";
    whole.config = config;
    static_cast<LayerTensors&>(whole) = make_random_layer(config, o.seed);
    if (config.bias)
      whole.bias = random_activations(ScalarType::bf16, std::vector<int64_t>{config.n}, o.seed);
    for (Split split : {Split::columns, Split::rows}) {
      try {  // a split that cuts a group or a block is passed over, with the reason
        for (int r = 0; r < size; ++r) (void)checkpoint::split_layer(whole, {split, r, size});
      } catch (const Error& e) {
        result.notes.push_back(
            cat(config.describe(), " ", checkpoint::name(split), ": ", e.what()));
        continue;
      }
      // The ranks' layers are made once per split; every M reuses them.
      const size_t ms = o.m_values.size();
      std::vector<std::vector<double>> total_us(ms), shard_us(ms);  // rank 0's samples
      std::string kernel;
      const ThreadGroup group(size, gpu);
      std::barrier<> meet(size);
      group.run([&](int r, Device device, std::shared_ptr<Communicator> communicator) {
        try {
          std::unique_ptr<ColumnParallelLinear> column;
          std::unique_ptr<RowParallelLinear> row;
          if (split == Split::columns)
            column = std::make_unique<ColumnParallelLinear>(whole, communicator, device);
          else
            row = std::make_unique<RowParallelLinear>(whole, communicator, device);
          const QuantizedLinear& shard = column ? column->shard() : row->shard();
          if (r == 0) kernel = shard.kernel().name();
          const auto timed = [&](const std::function<Tensor()>& call, std::vector<double>* out) {
            for (int i = 0; i < o.warmup; ++i) finish(call());
            for (int i = 0; i < o.reps; ++i) {
              meet.arrive_and_wait();
              const auto start = Clock::now();
              finish(call());
              meet.arrive_and_wait();  // the slowest rank sets the time
              if (out)
                out->push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - start).count());
            }
          };
          for (size_t i = 0; i < ms; ++i) {
            const int64_t m = o.m_values[i];
            const Tensor x_host =
                random_activations(config.act_type, std::vector<int64_t>{m, config.k}, o.seed + 1);
            const Tensor x = Tensor::copy_of(x_host, device);
            // The shard's own input: x, or this rank's columns of it (cut once, outside the
            // timing).
            Tensor x_shard = x;
            if (row) {
              const int64_t pk = shard.config().part_k();
              x_shard = Tensor::empty(x_host.dtype(), {m, pk});
              for (int64_t a = 0; a < m; ++a)
                for (int64_t j = 0; j < pk; ++j)
                  store_code(x_shard, a * pk + j, load_code(x_host, a * config.k + r * pk + j));
              x_shard = Tensor::copy_of(x_shard, device);
            }
            timed([&] { return column ? column->forward(x) : row->forward(x); },
                  r == 0 ? &total_us[i] : nullptr);
            timed([&] { return shard.forward(x_shard); }, r == 0 ? &shard_us[i] : nullptr);
          }
        } catch (...) {
          meet.arrive_and_drop();  // the other ranks do not wait for this one
          throw;
        }
      });
      for (size_t i = 0; i < ms; ++i) {
        ParallelRecord rec;
        rec.config = config.describe();
        rec.split = std::string(checkpoint::name(split));
        rec.kernel = kernel;
        rec.size = size;
        rec.m = o.m_values[i], rec.n = config.part_n(), rec.k = config.part_k();
        rec.us = median(total_us[i]);
        rec.shard_us = median(shard_us[i]);
        rec.collective_share = rec.us > 0 ? std::max(0.0, 1.0 - rec.shard_us / rec.us) : 0;
        if (on_record) on_record(rec);
        result.records.push_back(rec);
      }
    }
  }
  return result;
}

}  // namespace qlinear::bench
