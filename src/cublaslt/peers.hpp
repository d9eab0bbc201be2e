// cuBLASLt GEMMs as peers of `qlinear bench` on CUDA devices, set up as ../shared/peers/peers.py
// measures PyTorch's (the same cuBLASLt calls under torch.mm / torch._scaled_mm / torch._int_mm):
// random operands made on the device, already in the peer's types, bf16 output (int32 for int8).
#pragma once

#include <memory>

#include "qlinear/bench.hpp"

namespace qlinear::cublaslt {

// fp8 with 1x128 x 128x128 block scales: fp8_block. M is padded to 16 as the cublaslt kernel
// pads it (cuBLASLt has no algorithm for M = 1), so M = 1 has a time.
std::shared_ptr<const bench::Peer> make_fp8_block128_peer();
// fp8 with per-token x per-channel scales: fp8_scaled_mm layers other than per-tensor x per-tensor.
std::shared_ptr<const bench::Peer> make_fp8_rowwise_peer();
// fp8 with one scale per tensor: fp8_scaled_mm, and mxfp8 (Hopper has no 1x32 fp8 scaling).
std::shared_ptr<const bench::Peer> make_fp8_tensorwise_peer();
// int8 x int8 -> int32: int8_scaled_mm and w4a8_int (int8 activations).
std::shared_ptr<const bench::Peer> make_int8_peer();
// bf16 x bf16 -> bf16: the dense baseline of every family.
std::shared_ptr<const bench::Peer> make_bf16_dense_peer();

}  // namespace qlinear::cublaslt
