// Communicators: the group of ranks a tensor-parallel layer (qlinear/parallel.hpp) sums or gathers
// its outputs over. NCCL for GPUs (one rank per GPU, in one process or several), or an in-process
// group whose ranks are threads of this process (CPU tensors: the CPU provider, and the tests that
// check the splitting without GPUs). CUDA-free: NCCL's types appear only as opaque bytes.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "qlinear/kernel.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // buffer = Σ over the ranks of each rank's buffer, in place, on `stream` (fp32; NCCL also bf16
  // and fp16). Every rank gets the same bits.
  virtual void all_reduce_sum(const TensorView& buffer, Stream stream) const = 0;
  // out = the ranks' `in` one after the other (rank order): out.nbytes() = size() * in.nbytes().
  virtual void all_gather(const TensorView& in, const TensorView& out, Stream stream) const = 0;
};

// `size` ranks of one process, each used by its own thread (calls block until every rank of the
// group has made the same call). Sums add the ranks' values in rank order in fp32.
std::vector<std::shared_ptr<Communicator>> make_local_group(int size);

// The ranks of one process, one thread and one device each: the in-process group on the CPU
// (every rank on the CPU), or NCCL over cuda:0 … cuda:size-1 (checks that there are that many).
// Thread `rank` calls join(rank) once; with NCCL every rank's join is part of one collective.
class ThreadGroup {
 public:
  ThreadGroup(int size, bool gpus);
  int size() const { return size_; }
  Device device(int rank) const { return gpus_ ? Device::cuda(rank) : Device::cpu(); }
  std::shared_ptr<Communicator> join(int rank) const;
  // Runs body(rank, device, communicator) on one thread per rank (each joining the group first),
  // waits for all, and rethrows the first error.
  void run(const std::function<void(int, Device, std::shared_ptr<Communicator>)>& body) const;

 private:
  int size_;
  bool gpus_;
  std::vector<std::shared_ptr<Communicator>> local_;
  std::array<char, 128> nccl_id_{};
};

// NCCL (when qlinear is built with it; otherwise these throw and say so).
using NcclUniqueId = std::array<char, 128>;  // ncclUniqueId's bytes, to send to every rank
bool built_with_nccl();
NcclUniqueId make_nccl_unique_id();
// Joins the group of `size` ranks that share `id` as `rank`, on `device` (ncclCommInitRank: a
// collective call, every rank makes it). The communicator is destroyed with the object.
std::shared_ptr<Communicator> make_nccl_communicator(const NcclUniqueId& id, int rank, int size,
                                                     Device device);
// Wraps a caller's ncclComm_t (not owned: the caller destroys it after the last use).
std::shared_ptr<Communicator> wrap_nccl_communicator(void* nccl_comm, Device device);

}  // namespace qlinear
