// The NCCL communicator: one rank per GPU; the collectives run on the caller's stream.
#include <nccl.h>

#include <cstring>

#include "gpu/check.hpp"
#include "qlinear/communicator.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

void check_nccl(ncclResult_t result, const char* call) {
  if (result != ncclSuccess)
    throw Error(
        cat(call, " failed: ", ncclGetErrorString(result), " (", ncclGetLastError(nullptr), ")"));
}

ncclDataType_t nccl_type(const TensorView& t, const char* what) {
  switch (t.dtype()) {
    case ScalarType::fp32:
      return ncclFloat32;
    case ScalarType::bf16:
      return ncclBfloat16;
    case ScalarType::fp16:
      return ncclFloat16;
    default:
      throw Error(cat(what, ": ", t.describe(), "; NCCL sums fp32, bf16 or fp16"));
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, Device device, bool owned)
      : comm_(comm), device_(device), owned_(owned) {
    check_nccl(ncclCommUserRank(comm_, &rank_), "ncclCommUserRank");
    check_nccl(ncclCommCount(comm_, &size_), "ncclCommCount");
  }
  ~NcclCommunicator() override {
    if (owned_) ncclCommDestroy(comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(const TensorView& buffer, Stream stream) const override {
    check_on_device(buffer, "all_reduce_sum");
    cuda::DeviceGuard guard(device_.index);
    check_nccl(ncclAllReduce(buffer.data(), buffer.data(), static_cast<size_t>(buffer.numel()),
                             nccl_type(buffer, "all_reduce_sum"), ncclSum, comm_,
                             cuda::native(stream.handle)),
               "ncclAllReduce");
  }

  void all_gather(const TensorView& in, const TensorView& out, Stream stream) const override {
    check_on_device(in, "all_gather");
    check_on_device(out, "all_gather");
    require(out.nbytes() == size_ * in.nbytes(), "all_gather: out ", out.describe(), " must hold ",
            size_, " x ", in.nbytes(), " bytes");
    cuda::DeviceGuard guard(device_.index);
    check_nccl(ncclAllGather(in.data(), out.data(), static_cast<size_t>(in.nbytes()), ncclUint8,
                             comm_, cuda::native(stream.handle)),
               "ncclAllGather");
  }

 private:
  void check_on_device(const TensorView& t, const char* what) const {
    require(t.device() == device_ && t.is_contiguous(), what, ": ", t.describe(),
            " must be contiguous on ", device_.str(), " (this rank's GPU)");
  }

  ncclComm_t comm_;
  Device device_;
  bool owned_;
  int rank_ = 0, size_ = 0;
};

}  // namespace

bool built_with_nccl() { return true; }

NcclUniqueId make_nccl_unique_id() {
  ncclUniqueId id;
  check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  NcclUniqueId bytes{};
  static_assert(sizeof(id) == sizeof(bytes));
  std::memcpy(bytes.data(), &id, sizeof(id));
  return bytes;
}

std::shared_ptr<Communicator> make_nccl_communicator(const NcclUniqueId& id, int rank, int size,
                                                     Device device) {
  require(device.is_cuda(), "make_nccl_communicator: device ", device.str(), " is not a GPU");
  require(size >= 1 && rank >= 0 && rank < size, "make_nccl_communicator: rank ", rank,
          " of a group of ", size);
  cuda::DeviceGuard guard(device.index);
  ncclUniqueId nccl_id;
  std::memcpy(&nccl_id, id.data(), sizeof(nccl_id));
  ncclComm_t comm = nullptr;
  check_nccl(ncclCommInitRank(&comm, size, nccl_id, rank), "ncclCommInitRank");
  return std::make_shared<NcclCommunicator>(comm, device, true);
}

std::shared_ptr<Communicator> wrap_nccl_communicator(void* nccl_comm, Device device) {
  require(nccl_comm != nullptr, "wrap_nccl_communicator: null ncclComm_t");
  require(device.is_cuda(), "wrap_nccl_communicator: device ", device.str(), " is not a GPU");
  return std::make_shared<NcclCommunicator>(static_cast<ncclComm_t>(nccl_comm), device, false);
}

}  // namespace qlinear
