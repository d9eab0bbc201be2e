// Random layers that look like real checkpoints, deterministic in the seed.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"

namespace qlinear {
namespace {

// splitmix64: small, fast, and the same stream on every compiler (unlike <random>'s distributions).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t integer(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  double normal() {  // Box-Muller
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

// A weight code: floats from a normal spread over the type's range, integers uniform.
uint32_t random_weight_code(ScalarType type, Rng& rng) {
  const auto& f = info(type);
  if (!f.is_float) return static_cast<uint32_t>(rng.integer(0, (int64_t{1} << f.bits) - 1));
  return encode(type, rng.normal() * f.max_finite / 3.0, Overflow::saturate);
}

// A positive scale of the given type near `typical`.
void fill_scales(const Tensor& t, double typical, Rng& rng) {
  for (int64_t i = 0; i < t.numel(); ++i) store_value(t, i, typical * rng.uniform(0.5, 2.0));
}

// Fills the rows of a [rows, cols] tensor, in blocks of rows spread over the host's cores, each
// block with its own stream seeded by (seed, block): the result depends on the seed only, never
// on the number of threads. Rows start on a byte (tensor.hpp), so no two blocks share one.
// (A 4096 x 14336 float layer took 3-5 s on one core: minutes of every device bench.)
template <typename RowFill>
void fill_rows_parallel(int64_t rows, uint64_t seed, const RowFill& fill_row) {
  constexpr int64_t kRowsPerBlock = 16;
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) {
    Rng rng(seed ^ (0xd1b54a32d192ed03ull * static_cast<uint64_t>(b + 1)));
    for (int64_t r = b * kRowsPerBlock; r < std::min(rows, (b + 1) * kRowsPerBlock); ++r)
      fill_row(r, rng);
  }
}

Tensor scalar_fp32(double value) {
  Tensor t = Tensor::empty(ScalarType::fp32, {1}, Device::cpu(), Lifetime::layer);
  *t.data_as<float>() = static_cast<float>(value);
  return t;
}

}  // namespace

RandomLayer make_random_layer(const LayerConfig& c, uint64_t seed) {
  validate(c);
  Rng rng(seed);
  RandomLayer layer;
  layer.config = c;
  const int64_t n = c.part_n(), k = c.part_k();

  layer.weight = Tensor::empty(c.weight_type, {n, k}, Device::cpu(), Lifetime::layer);
  fill_rows_parallel(n, rng.next(), [&](int64_t row, Rng& row_rng) {
    for (int64_t i = row * k; i < (row + 1) * k; ++i)
      store_code(layer.weight, i, random_weight_code(c.weight_type, row_rng));
  });

  const auto scale_shape = c.weight_scale_shape();
  layer.weight_scale =
      Tensor::empty(c.weight_scale_type, scale_shape, Device::cpu(), Lifetime::layer);
  switch (c.weight_scale_type) {
    case ScalarType::float8_e8m0fnu: {
      // Scales 2^-(emax + 4) .. 2^-emax, emax the largest exponent of the codes (e4m3 8, e2m1 2):
      // mxfp8's e4m3 codes up to 448 and mxfp4's e2m1 codes up to 6 give ŵ of the same size.
      const int emax = c.weight_type == ScalarType::float4_e2m1f ? 2 : 8;
      for (int64_t i = 0; i < layer.weight_scale.numel(); ++i)
        store_code(layer.weight_scale, i, static_cast<uint32_t>(127 - emax + rng.integer(-4, 0)));
      break;
    }
    case ScalarType::float8_e4m3fn:  // nvfp4: block scales across the e4m3 range
      for (int64_t i = 0; i < layer.weight_scale.numel(); ++i)
        store_value(layer.weight_scale, i,
                    std::ldexp(rng.uniform(1.0, 1.75), static_cast<int>(rng.integer(-4, 8))));
      break;
    default: {
      // Keep ŵ around 0.05 so outputs stay O(1..10) for K in the thousands.
      const double typical_code =
          info(c.weight_type).is_float ? info(c.weight_type).max_finite / 3 : 4.0;
      fill_scales(layer.weight_scale, 0.05 / typical_code, rng);
    }
  }
  if (c.zero_points) {
    layer.weight_zero_point =
        Tensor::empty(ScalarType::uint8, scale_shape, Device::cpu(), Lifetime::layer);
    const auto max_code = static_cast<int64_t>(info(c.weight_type).max_finite);
    for (int64_t i = 0; i < layer.weight_zero_point.numel(); ++i)
      store_code(layer.weight_zero_point, i, static_cast<uint32_t>(rng.integer(0, max_code)));
  }
  if (c.has_global_scale())
    layer.weight_global_scale = scalar_fp32(rng.uniform(0.5, 2.0) / (448.0 * 6.0));
  if (c.act_order) {
    // GPTQ's desc_act: K positions visited in a permuted order, groups formed along that order.
    std::vector<int64_t> order(static_cast<size_t>(k));
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = k - 1; i > 0; --i) std::swap(order[i], order[rng.integer(0, i)]);
    layer.g_idx = Tensor::empty(ScalarType::int32, {k}, Device::cpu(), Lifetime::layer);
    for (int64_t i = 0; i < k; ++i)
      layer.g_idx.data_as<int32_t>()[order[i]] = static_cast<int32_t>(i / c.group_size);
  }
  if (c.has_static_input_scale()) {
    // Calibrated for activations of amax about 4 (random_activations has outliers up to 8, which
    // saturate, as they do in real static-scale models).
    const double amax = rng.uniform(3.0, 5.0);
    double scale = amax / 127.0;
    if (c.act_quant == ScalarType::float8_e4m3fn) scale = amax / 448.0;
    if (c.family == Family::nvfp4) scale = amax / (448.0 * 6.0);
    layer.input_scale = scalar_fp32(scale);
  }
  if (c.act_scale_static && c.act_zero_points) {
    layer.input_zero_point = Tensor::empty(ScalarType::int32, {1}, Device::cpu(), Lifetime::layer);
    *layer.input_zero_point.data_as<int32_t>() = static_cast<int32_t>(rng.integer(-20, 20));
  }
  return layer;
}

Tensor random_activations(ScalarType dtype, std::span<const int64_t> shape, uint64_t seed) {
  Tensor x = Tensor::empty(dtype, shape);
  const int64_t cols = shape.empty() ? 1 : shape.back();
  const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
  fill_rows_parallel(rows, seed ^ 0xac71a7105ull, [&](int64_t row, Rng& rng) {
    for (int64_t i = row * cols; i < (row + 1) * cols; ++i) {
      double v = rng.normal();
      if (rng.uniform() < 0.002) v = rng.uniform(-8.0, 8.0);
      store_value(x, i, v);
    }
  });
  return x;
}

}  // namespace qlinear
