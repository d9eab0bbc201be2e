// oneDNN matmuls as peers of `qlinear bench` on the CPU, set up as
// ../shared/peers/cpu_onednn_peer.cpp measured them (its kinds bf16, int8u8 and int8rt), so that
// the numbers of both can be compared.
#pragma once

#include <memory>

#include "qlinear/bench.hpp"

namespace qlinear::onednn {

// u8 x s8 -> bf16 with per-N output scales fixed at creation (oneDNN's brgemm path).
// int8_scaled_mm.
std::shared_ptr<const bench::Peer> make_int8_const_scales_peer();
// u8 x s8 -> f32 with per-N output scales given at run time (gemm:jit in 2.6). int8_scaled_mm.
std::shared_ptr<const bench::Peer> make_int8_runtime_scales_peer();
// bf16 x bf16 -> bf16: the dense baseline of every family.
std::shared_ptr<const bench::Peer> make_bf16_dense_peer();

}  // namespace qlinear::onednn
