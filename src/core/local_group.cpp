// The in-process communicator: ranks are threads of this process that meet at a barrier.
#include <barrier>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

#include "qlinear/communicator.hpp"
#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"

namespace qlinear {
namespace {

struct GroupState {
  explicit GroupState(int size) : size(size), meet(size), sources(size) {}
  int size;
  std::barrier<> meet;
  std::vector<const void*> sources;  // each rank's buffer for the call under way
};

class LocalRank final : public Communicator {
 public:
  LocalRank(std::shared_ptr<GroupState> group, int rank) : group_(std::move(group)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size; }

  void all_reduce_sum(const TensorView& buffer, Stream) const override {
    require(buffer.device().is_cpu() && buffer.is_contiguous(), "all_reduce_sum: buffer ",
            buffer.describe(), " must be contiguous CPU memory (the in-process group)");
    require(buffer.dtype() == ScalarType::fp32, "all_reduce_sum: buffer ", buffer.describe(),
            " must be fp32 (the in-process group sums fp32)");
    const int64_t count = buffer.numel();
    std::vector<float> sum(static_cast<size_t>(count), 0.f);
    publish(buffer.data());
    for (int r = 0; r < group_->size; ++r) {
      const auto* source = static_cast<const float*>(group_->sources[r]);
      for (int64_t i = 0; i < count; ++i) sum[i] += source[i];
    }
    group_->meet.arrive_and_wait();  // every rank has read every buffer
    std::memcpy(buffer.data(), sum.data(), static_cast<size_t>(count) * sizeof(float));
  }

  void all_gather(const TensorView& in, const TensorView& out, Stream) const override {
    require(
        in.device().is_cpu() && out.device().is_cpu() && in.is_contiguous() && out.is_contiguous(),
        "all_gather: ", in.describe(), " and ", out.describe(),
        " must be contiguous CPU memory (the in-process group)");
    require(out.nbytes() == group_->size * in.nbytes(), "all_gather: out ", out.describe(),
            " must hold ", group_->size, " x ", in.nbytes(), " bytes");
    publish(in.data());
    for (int r = 0; r < group_->size; ++r)
      std::memcpy(static_cast<char*>(out.data()) + r * in.nbytes(), group_->sources[r],
                  static_cast<size_t>(in.nbytes()));
    group_->meet.arrive_and_wait();  // every rank has read every input
  }

 private:
  // Posts this rank's buffer and waits until every rank has posted its own.
  void publish(const void* data) const {
    group_->sources[rank_] = data;
    group_->meet.arrive_and_wait();
  }

  std::shared_ptr<GroupState> group_;
  int rank_;
};

}  // namespace

std::vector<std::shared_ptr<Communicator>> make_local_group(int size) {
  require(size >= 1, "make_local_group: size ", size, "; expected at least 1");
  auto group = std::make_shared<GroupState>(size);
  std::vector<std::shared_ptr<Communicator>> ranks;
  for (int r = 0; r < size; ++r) ranks.push_back(std::make_shared<LocalRank>(group, r));
  return ranks;
}

ThreadGroup::ThreadGroup(int size, bool gpus) : size_(size), gpus_(gpus) {
  require(size >= 1, "ThreadGroup: size ", size, "; expected at least 1");
  const auto gpu_count = static_cast<int>(cuda_platforms().size());
  require(!gpus || gpu_count >= size, "a group of ", size, " GPU ranks needs ", size,
          " GPUs; this machine has ", gpu_count);
  if (gpus)
    nccl_id_ = make_nccl_unique_id();
  else
    local_ = make_local_group(size);
}

std::shared_ptr<Communicator> ThreadGroup::join(int rank) const {
  require(rank >= 0 && rank < size_, "ThreadGroup: rank ", rank, " of ", size_);
  return gpus_ ? make_nccl_communicator(nccl_id_, rank, size_, device(rank)) : local_[rank];
}

void ThreadGroup::run(
    const std::function<void(int, Device, std::shared_ptr<Communicator>)>& body) const {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(size_));
  std::vector<std::thread> threads;
  for (int r = 0; r < size_; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r, device(r), join(r));
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace qlinear
