#include "cuda/hopper/scaled_mm_layer.hpp"

#include <algorithm>

#include "cuda/hopper/tensor_map.hpp"
#include "gpu/act_quant.hpp"
#include "gpu/check.hpp"
#include "gpu/cublaslt_layout.hpp"
#include "qlinear/error.hpp"

namespace qlinear::cuda::sm90 {

namespace {

bool grouped(const LayerConfig& c) { return c.act_scale == Granularity::per_group; }

}  // namespace

TilePlan tile_plan(int64_t m, int64_t n, int64_t k_pitch, int sms) {
  constexpr int64_t kTile = 128;  // the rows side of a tile (kBlockM), and the prefill tile's width
  const int64_t k_slices = (k_pitch + kBoxK - 1) / kBoxK;
  TilePlan plan;
  plan.sms = sms;
  if (m <= 64) {
    plan.swap = true;
    plan.block_n = m <= 16 ? 16 : m <= 32 ? 32 : 64;
    plan.tiles = static_cast<int>((n + kTile - 1) / kTile);
    plan.splits = static_cast<int>(std::clamp<int64_t>(sms / plan.tiles, 1, k_slices));
  } else {
    plan.tiles = static_cast<int>(((m + kTile - 1) / kTile) * ((n + kTile - 1) / kTile));
    plan.splits = static_cast<int>(
        std::clamp<int64_t>(sms / plan.tiles, 1, std::max<int64_t>(1, k_slices / 4)));
  }
  return plan;
}

int64_t ticket_bytes(const TilePlan& plan) {
  return round_up(plan.tiles * static_cast<int64_t>(sizeof(int)), 256);
}

int64_t workspace_bytes(const TilePlan& plan) {
  if (plan.splits == 1) return 0;
  const int64_t tile_words = 128 * static_cast<int64_t>(plan.swap ? plan.block_n : 128);
  return ticket_bytes(plan) +
         plan.tiles * plan.splits * tile_words * static_cast<int64_t>(sizeof(uint32_t));
}

SplitWorkspace::SplitWorkspace(const HopperWeights& w, int64_t m, cudaStream_t stream)
    : plan_(tile_plan(m, w.config().part_n(), w.k_pitch, w.sms)),
      scratch_(workspace_bytes(plan_), stream, w.device.index) {}

CUtensorMap weight_map(const void* w, int64_t n, int64_t k_pitch) {
  return make_code_map(w, n, k_pitch, k_pitch, 128, "weight codes");
}

std::shared_ptr<HopperWeights> prepare_weights(const LayerConfig& c, const LayerWeights& w,
                                               Device device, const Kernel& layout) {
  require(device.is_cuda(), "Hopper kernels take weights on a CUDA device, not ", device.str());
  DeviceGuard guard(device.index);
  auto p = std::make_shared<HopperWeights>(c);
  p->padded = layout.process_weights(c, w, device);
  const auto& padded = static_cast<const cublaslt::PaddedWeights&>(*p->padded);
  p->device = device;
  check_cuda(cudaDeviceGetAttribute(&p->sms, cudaDevAttrMultiProcessorCount, device.index),
             "cudaDeviceGetAttribute");
  p->k_pitch = padded.k_padded;
  p->weight = padded.weight;
  p->weight_map = weight_map(p->weight.data(), c.part_n(), p->k_pitch);
  p->weight_scale = Tensor::copy_of(w.weight_scale, device);
  p->feature_sum = padded.col_sum;
  p->input_scale = padded.input_scale;
  p->input_zero_point = padded.input_zero_point;
  return p;
}

QuantizedActivations::QuantizedActivations(const HopperWeights& w, const TensorView& x,
                                           const SplitWorkspace& workspace, cudaStream_t stream)
    : codes_(x.rows() * w.k_pitch, stream, w.device.index),
      scales_(
          [&] {
            const LayerConfig& c = w.config();
            const int64_t per_row =
                grouped(c) ? (c.part_k() + c.act_group_size - 1) / c.act_group_size : 1;
            const int64_t rows = c.act_scale == Granularity::per_tensor ? 1 : x.rows();
            return rows * per_row * static_cast<int64_t>(sizeof(float));
          }(),
          stream, w.device.index),
      zero_points_(
          w.config().act_zero_points ? x.rows() * static_cast<int64_t>(sizeof(int32_t)) : 0, stream,
          w.device.index) {
  const LayerConfig& c = w.config();
  const int64_t m = x.rows();
  if (w.k_pitch != c.part_k())
    check_cuda(cudaMemsetAsync(codes_.get(), 0, m * w.k_pitch, stream), "cudaMemsetAsync");
  ActQuantTarget target;
  target.codes = codes_.get();
  target.codes_row_stride = w.k_pitch;
  target.scales = scales_.get();
  if (grouped(c)) {
    scale_stride_ = (c.part_k() + c.act_group_size - 1) / c.act_group_size;
    target.scale_row_stride = scale_stride_;
    target.scale_group_stride = 1;
  } else {
    scale_stride_ = c.act_scale == Granularity::per_tensor ? 0 : 1;
    target.scale_row_stride = scale_stride_;
  }
  if (c.act_zero_points) {
    target.zero_points = zero_points_.get<int32_t>();
    target.zero_point_row_stride = scale_stride_;
  }
  if (workspace.plan().splits > 1) {
    target.cleared = static_cast<int32_t*>(workspace.get());
    target.cleared_count = ticket_bytes(workspace.plan()) / static_cast<int64_t>(sizeof(int32_t));
  }
  quantize_activations(c, x, w.input_scale, w.input_zero_point, target, stream);
}

ScaledMmCall make_call(const HopperWeights& w, const SplitWorkspace& workspace,
                       const QuantizedActivations& x, int64_t m, const TensorView& bias,
                       const TensorView& out) {
  ScaledMmCall call;
  call.plan = workspace.plan();
  call.workspace = workspace.get();
  call.m = m;
  call.n = w.config().part_n();
  call.k_pitch = w.k_pitch;
  call.x = x.codes();
  call.weight_map = &w.weight_map;
  if (bias.defined()) {
    call.epilogue.bias = bias.data();
    call.epilogue.bias_type = bias.dtype();
  }
  call.epilogue.out = out.data();
  call.epilogue.out_type = out.dtype();
  return call;
}

void HopperScaledMm::apply(const PreparedWeights& prepared, const TensorView& x,
                           const TensorView& bias, const TensorView& out, Stream stream) const {
  const auto& w = static_cast<const HopperWeights&>(prepared);
  DeviceGuard guard(w.device.index);
  const cudaStream_t s = native(stream.handle);
  const SplitWorkspace workspace(w, x.rows(), s);
  const QuantizedActivations q(w, x, workspace, s);
  ScaledMmCall call = make_call(w, workspace, q, x.rows(), bias, out);
  run(w, q, call, s);
}

std::shared_ptr<const PreparedWeights> HopperScaledMm::weights_for(
    const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const {
  if (&other == this) return prepared;
  if (other.name() == layout_->name()) return static_cast<const HopperWeights&>(*prepared).padded;
  return nullptr;
}

Verdict hopper_sm90a(const Platform& platform) {
  if (platform.kind != PlatformKind::cuda) return Verdict::no("needs a CUDA device");
  if (platform.compute_capability != 90)
    return Verdict::no(
        cat("wgmma and TMA kernels for Hopper (sm_90a); this is sm_", platform.compute_capability));
#if QLINEAR_SM90A
  return Verdict::yes();
#else
  return Verdict::no("this build has no sm_90a code (CMAKE_CUDA_ARCHITECTURES lacks 90a)");
#endif
}

}  // namespace qlinear::cuda::sm90
