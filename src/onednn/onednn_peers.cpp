#include "onednn/onednn_peers.hpp"

#include <cstring>

#include "onednn/matmul.hpp"
#include "qlinear/error.hpp"

namespace qlinear::onednn {
namespace {

// Fast deterministic bytes (the peers' values do not matter, only that they are not all zero).
void fill_random(std::vector<uint8_t>& bytes, uint64_t seed, bool as_bf16) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < bytes.size(); ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    bytes[i] = static_cast<uint8_t>(s >> 56);
    // bf16 high bytes of magnitude around 1 (exponent 0x3f), sign random.
    if (as_bf16 && i % 2 == 1)
      bytes[i] = static_cast<uint8_t>(0x3c | (bytes[i] & 0x80) | (bytes[i] & 0x3));
  }
}

struct Kind {
  std::string name;
  dt src, wei, dst;
  bool constant_scales, runtime_scales;
};

class MatmulCase final : public bench::PeerCase {
 public:
  MatmulCase(const Kind& kind, const LayerConfig& config, int copies) : kind_(kind) {
    n_ = config.part_n(), k_ = config.part_k();
    std::vector<uint8_t> weight(static_cast<size_t>(n_ * k_) *
                                dnnl::memory::data_type_size(kind.wei));
    fill_random(weight, 1, kind.wei == dt::bf16);
    scales_.assign(static_cast<size_t>(n_), 1.f / 16384);
    MatmulSpec spec{kind.src, kind.wei, kind.dst, n_, k_, {}, kind.runtime_scales, false};
    if (kind.constant_scales) spec.constant_scales = scales_;
    for (int i = 0; i < copies; ++i)
      matmuls_.push_back(std::make_unique<PackedMatmul>(spec, weight.data()));
  }

  void prepare_m(int64_t m) override {
    m_ = m;
    src_.assign(static_cast<size_t>(m * k_) * dnnl::memory::data_type_size(kind_.src), 0);
    fill_random(src_, 2, kind_.src == dt::bf16);
    dst_.assign(static_cast<size_t>(m * n_) * dnnl::memory::data_type_size(kind_.dst), 0);
  }
  void run(int copy, Stream) override {
    matmuls_[static_cast<size_t>(copy)]->run(m_, src_.data(), dst_.data(), nullptr,
                                             kind_.runtime_scales ? scales_.data() : nullptr);
  }
  int64_t bytes(int64_t m) const override {
    return static_cast<int64_t>(dnnl::memory::data_type_size(kind_.wei)) * n_ * k_ +
           static_cast<int64_t>(dnnl::memory::data_type_size(kind_.src)) * m * k_ +
           static_cast<int64_t>(dnnl::memory::data_type_size(kind_.dst)) * m * n_;
  }
  std::string implementation(int64_t m) const override {
    return matmuls_.front()->implementation(m);
  }

 private:
  Kind kind_;
  int64_t n_ = 0, k_ = 0, m_ = 0;
  std::vector<float> scales_;
  std::vector<std::unique_ptr<PackedMatmul>> matmuls_;
  std::vector<uint8_t> src_, dst_;
};

class MatmulPeer final : public bench::Peer {
 public:
  explicit MatmulPeer(Kind kind) : kind_(std::move(kind)) {}
  const std::string& name() const override { return kind_.name; }
  ScalarType multiply_type() const override {
    return kind_.wei == dt::bf16 ? ScalarType::bf16 : ScalarType::int8;
  }

  Verdict applies(const LayerConfig& config, const Platform& platform) const override {
    if (platform.kind != PlatformKind::cpu) return Verdict::no("oneDNN peers run on the CPU");
    if (kind_.wei == dt::s8 && config.family != Family::int8_scaled_mm)
      return Verdict::no("the int8 peers stand in for int8_scaled_mm only");
    if (platform.cpu.isa < CpuIsa::avx512)
      return Verdict::no(cat("oneDNN 2.6 matmul needs AVX-512 for bf16 (",
                             qlinear::name(platform.cpu.isa), " here)"));
    return Verdict::yes();
  }
  int64_t weight_bytes(const LayerConfig& config) const override {
    return static_cast<int64_t>(dnnl::memory::data_type_size(kind_.wei)) * config.part_n() *
           config.part_k();
  }
  std::unique_ptr<bench::PeerCase> prepare(const LayerConfig& config, int copies,
                                           Device device) const override {
    require(device.is_cpu(), kind_.name, ": runs on the CPU, not ", device.str());
    return std::make_unique<MatmulCase>(kind_, config, copies);
  }

 private:
  Kind kind_;
};

}  // namespace

std::shared_ptr<const bench::Peer> make_int8_const_scales_peer() {
  return std::make_shared<MatmulPeer>(
      Kind{"onednn_matmul_int8_const", dt::u8, dt::s8, dt::bf16, true, false});
}
std::shared_ptr<const bench::Peer> make_int8_runtime_scales_peer() {
  return std::make_shared<MatmulPeer>(
      Kind{"onednn_matmul_int8_runtime", dt::u8, dt::s8, dt::f32, false, true});
}
std::shared_ptr<const bench::Peer> make_bf16_dense_peer() {
  return std::make_shared<MatmulPeer>(
      Kind{"onednn_matmul_bf16", dt::bf16, dt::bf16, dt::bf16, false, false});
}

}  // namespace qlinear::onednn
