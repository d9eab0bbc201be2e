#include "onednn/matmul.hpp"

#include <array>
#include <cstdlib>
#include <mutex>

#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::onednn {
namespace {

using tag = dnnl::memory::format_tag;

// oneDNN 2.6's packed int8 weights for brgemm on AVX-512 VNNI with u8 sources: {K, N} in blocks
// of 64 columns, each block's K x 64 contiguous; so columns [n0, n0 + n) with n0 a multiple of 64
// are themselves packed weights {K, n} of this layout, at n0 / 64 blocks into the buffer.
constexpr tag kColumnSliceTag = tag::BA16a64b4a;
constexpr int64_t kColumnSliceBlock = 64;

// oneDNN's ISA for a qlinear level (avx512_vnni is VNNI + BF16, oneDNN's avx512_core_bf16).
dnnl::cpu_isa onednn_isa(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::scalar:
      return dnnl::cpu_isa::sse41;
    case CpuIsa::avx2:
      return dnnl::cpu_isa::avx2;
    case CpuIsa::avx512:
      return dnnl::cpu_isa::avx512_core;
    case CpuIsa::avx512_vnni:
      return dnnl::cpu_isa::avx512_core_bf16;
    case CpuIsa::amx:
      return dnnl::cpu_isa::all;
  }
  return dnnl::cpu_isa::all;
}

const char* type_name(dt type) {
  switch (type) {
    case dt::s8:
      return "s8";
    case dt::u8:
      return "u8";
    case dt::s32:
      return "s32";
    case dt::bf16:
      return "bf16";
    case dt::f16:
      return "f16";
    case dt::f32:
      return "f32";
    default:
      return "other";
  }
}

}  // namespace

const dnnl::engine& engine() {
  static const dnnl::engine instance = [] {
    // The cap must be set before the first primitive is created; it is process-wide.
    if (const char* cap = std::getenv("QLINEAR_CPU_ISA"); cap && *cap)
      dnnl::set_max_cpu_isa(onednn_isa(host_platform().cpu.isa));
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return instance;
}

void* thread_buffer(int slot, int64_t bytes) {
  struct Buffer {
    std::unique_ptr<void, decltype(&std::free)> data{nullptr, &std::free};
    int64_t bytes = 0;
  };
  thread_local std::array<Buffer, kThreadBufferSlots> buffers;
  require(slot >= 0 && slot < static_cast<int>(buffers.size()), "thread_buffer: slot ", slot);
  Buffer& b = buffers[slot];
  if (b.bytes < bytes) {
    const int64_t rounded = (bytes + 63) / 64 * 64;
    b.data.reset(std::aligned_alloc(64, static_cast<size_t>(rounded)));
    require(b.data != nullptr, "onednn: could not allocate ", rounded, " bytes of scratch memory");
    b.bytes = rounded;
  }
  return b.data.get();
}

PackedMatmul::PackedMatmul(MatmulSpec spec, const void* weight) : spec_(std::move(spec)) {
  const int64_t n = spec_.n, k = spec_.k;
  require(spec_.constant_scales.empty() || spec_.constant_scales.size() == 1 ||
              static_cast<int64_t>(spec_.constant_scales.size()) == n,
          "onednn matmul: ", spec_.constant_scales.size(), " constant scales for N = ", n,
          "; expected 1 or N");
  // W [N, K] row-major is oneDNN's weights {K, N} in the transposed plain layout (ba). The packed
  // layout is chosen for a mid-size M and kept for every M (oneDNN 2.6's brgemm picks the same
  // blocking for M = 1 .. 2048 here).
  const dnnl::memory::desc plain({k, n}, spec_.wei, tag::ba);
  const dnnl::memory::desc any({k, n}, spec_.wei, tag::any);
  const auto pd = describe(64, n, any);
  weights_ = dnnl::memory(pd.weights_desc(), engine());
  dnnl::memory source(plain, engine(), const_cast<void*>(weight));
  dnnl::stream stream(engine());
  dnnl::reorder(source, weights_).execute(stream, source, weights_);
  stream.wait();
  if (weights_.get_desc() == dnnl::memory::desc({k, n}, spec_.wei, kColumnSliceTag)) {
    column_block_ = kColumnSliceBlock;
    column_block_bytes_ = weights_.get_desc().data.format_desc.blocking.strides[1] *
                          static_cast<int64_t>(dnnl::memory::data_type_size(spec_.wei));
  }
}

dnnl::matmul::primitive_desc PackedMatmul::describe(int64_t m, int64_t n,
                                                    const dnnl::memory::desc& weights) const {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (spec_.runtime_scales) {
    attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
  } else if (!spec_.constant_scales.empty()) {
    attr.set_output_scales(spec_.constant_scales.size() == 1 ? 0 : 1 << 1, spec_.constant_scales);
  }
  const dnnl::memory::desc src({m, spec_.k}, spec_.src, tag::ab);
  const dnnl::memory::desc dst({m, n}, spec_.dst, tag::ab);
  const dnnl::memory::desc bias =
      spec_.bias ? dnnl::memory::desc({1, n}, dt::f32, tag::ab) : dnnl::memory::desc();
  try {
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, bias, dst), attr,
                                        engine());
  } catch (const dnnl::error& e) {
    throw Error(cat("onednn: no matmul for M=", m, " N=", n, " K=", spec_.k, " (src ",
                    type_name(spec_.src), ", wei ", type_name(spec_.wei), ", dst ",
                    type_name(spec_.dst), "): ", e.what()));
  }
}

const PackedMatmul::Primitive& PackedMatmul::primitive(int64_t m, int64_t n) const {
  const std::pair<int64_t, int64_t> shape{m, n};
  {
    std::shared_lock lock(mutex_);
    if (auto it = by_shape_.find(shape); it != by_shape_.end()) return *it->second;
  }
  auto made = std::make_unique<Primitive>();
  const auto pd =
      describe(m, n,
               n == spec_.n ? weights_.get_desc()
                            : dnnl::memory::desc({spec_.k, n}, spec_.wei, kColumnSliceTag));
  made->matmul = dnnl::matmul(pd);
  made->src = pd.src_desc();
  made->weights = pd.weights_desc();
  made->dst = pd.dst_desc();
  made->scratchpad = pd.scratchpad_desc();
  made->implementation = pd.impl_info_str();
  std::unique_lock lock(mutex_);
  auto [it, inserted] = by_shape_.emplace(shape, std::move(made));
  return *it->second;
}

std::string PackedMatmul::implementation(int64_t m) const {
  return primitive(m, spec_.n).implementation;
}

void PackedMatmul::run(int64_t m, const void* src, void* dst, const float* bias,
                       const float* scales) const {
  execute(primitive(m, spec_.n), weights_, src, dst, bias, scales);
}

void PackedMatmul::run_columns(int64_t m, int64_t n0, int64_t n, const void* src, void* dst) const {
  require(column_block_ > 0 && n0 % column_block_ == 0 && n > 0 && n0 + n <= spec_.n,
          "onednn matmul: columns [", n0, ", ", n0 + n, ") of N = ", spec_.n,
          " are not a slice of the packed weights (column block ", column_block_, ")");
  require(!spec_.bias && !spec_.runtime_scales && spec_.constant_scales.empty(),
          "onednn matmul: column slices take no scales or bias");
  const Primitive& p = primitive(m, n);
  auto* slice =
      static_cast<char*>(weights_.get_data_handle()) + n0 / column_block_ * column_block_bytes_;
  execute(p, dnnl::memory(p.weights, engine(), slice), src, dst, nullptr, nullptr);
}

void PackedMatmul::execute(const Primitive& p, const dnnl::memory& weights, const void* src,
                           void* dst, const float* bias, const float* scales) const {
  thread_local dnnl::stream stream(engine());
  const dnnl::engine& e = engine();
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, dnnl::memory(p.src, e, const_cast<void*>(src))},
      {DNNL_ARG_WEIGHTS, weights},
      {DNNL_ARG_DST, dnnl::memory(p.dst, e, dst)},
      {DNNL_ARG_SCRATCHPAD,
       dnnl::memory(
           p.scratchpad, e,
           thread_buffer(kThreadBufferSlots - 1, static_cast<int64_t>(p.scratchpad.get_size())))}};
  if (spec_.bias) {
    require(bias != nullptr, "onednn matmul: the primitive takes a bias; none given");
    args.emplace(DNNL_ARG_BIAS,
                 dnnl::memory({{1, spec_.n}, dt::f32, tag::ab}, e, const_cast<float*>(bias)));
  }
  if (spec_.runtime_scales) {
    require(scales != nullptr, "onednn matmul: the primitive takes runtime scales; none given");
    args.emplace(DNNL_ARG_ATTR_OUTPUT_SCALES,
                 dnnl::memory({{spec_.n}, dt::f32, tag::a}, e, const_cast<float*>(scales)));
  }
  p.matmul.execute(stream, args);
  stream.wait();
}

}  // namespace qlinear::onednn
