// A build without NCCL: the NCCL communicator factories say so.
#include "qlinear/communicator.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {
[[noreturn]] void no_nccl() {
  throw Error(
      "qlinear was built without NCCL (needs the CUDA build and nccl.h / libnccl, found beside the "
      "CUDA toolkit or through NCCL_ROOT)");
}
}  // namespace

bool built_with_nccl() { return false; }
NcclUniqueId make_nccl_unique_id() { no_nccl(); }
std::shared_ptr<Communicator> make_nccl_communicator(const NcclUniqueId&, int, int, Device) {
  no_nccl();
}
std::shared_ptr<Communicator> wrap_nccl_communicator(void*, Device) { no_nccl(); }

}  // namespace qlinear
