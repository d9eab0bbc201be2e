// The reference against an independent float64 computation, for every family: weights decoded
// from their raw bytes with the specifications' formulas (spec_formats.hpp), activations quantized
// by a nearest-code search over those formulas, the sum taken here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "qlinear/conformance.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/reference.hpp"
#include "spec_formats.hpp"

namespace qlinear {
namespace {

using namespace spec;
using G = Granularity;

const uint8_t* bytes_of(const Tensor& t) { return static_cast<const uint8_t*>(t.data()); }

// Raw element `i` of a tensor by its storage width, independent of the library's accessors.
uint32_t raw(const Tensor& t, int64_t i) {
  const uint8_t* b = bytes_of(t);
  switch (info(t.dtype()).bits) {
    case 4: return (i % 2) ? (b[i / 2] >> 4) : (b[i / 2] & 0xf);
    case 8: return b[i];
    case 16: return static_cast<uint32_t>(b[2 * i]) | (static_cast<uint32_t>(b[2 * i + 1]) << 8);
    default: {
      uint32_t v;
      std::memcpy(&v, b + 4 * i, 4);
      return v;
    }
  }
}

double spec_decode(ScalarType type, uint32_t c) {
  switch (type) {
    case T::bf16: return spec_bf16(static_cast<uint16_t>(c));
    case T::fp16: return spec_fp16(static_cast<uint16_t>(c));
    case T::fp32: {
      float f;
      std::memcpy(&f, &c, 4);
      return f;
    }
    case T::int32: return static_cast<int32_t>(c);
    default: return spec_value(type, c);
  }
}

// The nearest finite value of a small float format, ties to the even code, saturating: a search
// over every code, as the specifications define rounding.
double nearest_small_float(ScalarType type, double v) {
  const uint32_t codes = 1u << info(type).bits;
  double best = NAN;
  uint32_t best_code = 0;
  for (uint32_t c = 0; c < codes; ++c) {
    const double value = spec_value(type, c);
    if (std::isnan(value)) continue;
    const double d = std::fabs(value - v), best_d = std::fabs(best - v);
    if (std::isnan(best) || d < best_d || (d == best_d && (c % 2 == 0) && (best_code % 2 == 1))) {
      best = value;
      best_code = c;
    }
  }
  return best;
}

// x̂ for one row block, quantized per the family, independently.
std::vector<double> independent_activations(const LayerConfig& c, const RandomLayer& layer,
                                            const Tensor& x, int64_t m, int64_t k) {
  std::vector<double> xv(static_cast<size_t>(m * k));
  for (int64_t i = 0; i < m * k; ++i) xv[i] = spec_decode(c.act_type, raw(x, i));
  if (!c.act_quant) return xv;

  const float input_scale = c.has_static_input_scale() ? *layer.input_scale.data_as<float>() : 0.f;
  std::vector<double> out(xv.size());
  const int64_t group = c.act_scale == G::per_group ? c.act_group_size : k;
  const bool whole_tensor = c.act_scale == G::per_tensor;
  const int64_t row_blocks = whole_tensor ? 1 : m;
  for (int64_t rb = 0; rb < row_blocks; ++rb) {
    const int64_t r0 = whole_tensor ? 0 : rb, r1 = whole_tensor ? m : rb + 1;
    for (int64_t k0 = 0; k0 < k; k0 += group) {
      const int64_t k1 = std::min(k, k0 + group);
      float amax = 0, lo = INFINITY, hi = -INFINITY;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = k0; i < k1; ++i) {
          const auto v = static_cast<float>(xv[r * k + i]);
          amax = std::max(amax, std::fabs(v));
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = k0; i < k1; ++i) {
          const auto v = static_cast<float>(xv[r * k + i]);
          double q, dequant;
          switch (c.family) {
            case Family::nvfp4: {
              const float g = 1.f / input_scale;
              const auto sf = static_cast<float>(nearest_small_float(T::float8_e4m3fn, g * (amax / 6.f)));
              const float mult = sf != 0 ? 1.f / (sf * (1.f / g)) : 0.f;
              q = nearest_small_float(T::float4_e2m1f, v * mult);
              dequant = q * sf * static_cast<double>(input_scale);
              break;
            }
            case Family::mxfp8:
            case Family::mxfp4: {
              const bool e2m1 = c.family == Family::mxfp4;
              const int emax = e2m1 ? 2 : 8;  // 6 = 1.5 * 2^2, 448 = 1.75 * 2^8
              int e = -127;
              if (amax > 0)
                e = std::max(-127, static_cast<int>(std::floor(std::log2(amax))) - emax);
              q = nearest_small_float(e2m1 ? T::float4_e2m1f : T::float8_e4m3fn,
                                      v / std::ldexp(1.f, e));
              dequant = q * std::ldexp(1.0, e);
              break;
            }
            default: {
              const bool int8 = c.act_quant == T::int8;
              const float qmax = int8 ? 127.f : 448.f;
              float s, z = 0;
              if (c.act_scale_static) {
                s = input_scale;
                if (c.act_zero_points) z = static_cast<float>(*layer.input_zero_point.data_as<int32_t>());
              } else if (c.act_zero_points) {
                s = (hi - lo) / 255.f;
                if (s == 0) s = 1;
                z = std::nearbyint(-128.f - lo / s);
              } else {
                s = amax > 0 ? amax / qmax : 1.f;
              }
              q = int8 ? std::clamp(static_cast<double>(std::nearbyint(v / s) + z), -128.0, 127.0)
                       : nearest_small_float(T::float8_e4m3fn, v / s);
              dequant = (q - z) * s;
            }
          }
          out[r * k + i] = dequant;
        }
    }
  }
  return out;
}

double independent_weight(const LayerConfig& c, const RandomLayer& layer, int64_t n, int64_t k) {
  const int64_t K = c.part_k();
  const double code = spec_decode(c.weight_type, raw(layer.weight, n * K + k));
  const auto shape = c.weight_scale_shape();
  int64_t row = 0, col = 0;
  if (c.weight_scale == G::per_channel) row = n;
  if (c.weight_scale == G::per_group) {
    row = n;
    col = c.act_order ? layer.g_idx.data_as<int32_t>()[k] : k / c.group_size;
  }
  if (c.weight_scale == G::block) row = n / c.block_n, col = k / c.group_size;
  const int64_t s = row * shape[1] + col;
  const double zero = c.zero_points ? static_cast<double>(bytes_of(layer.weight_zero_point)[s]) : 0.0;
  const double global = c.has_global_scale() ? *layer.weight_global_scale.data_as<float>() : 1.0;
  return (code - zero) * spec_decode(c.weight_scale_type, raw(layer.weight_scale, s)) * global;
}

}  // namespace

// Families print by name in test names and failures.
void PrintTo(Family family, std::ostream* os) { *os << name(family); }

namespace {

class ReferenceAgainstIndependent : public ::testing::TestWithParam<Family> {};

TEST_P(ReferenceAgainstIndependent, EveryConformanceConfig) {
  uint64_t seed = 100;
  for (LayerConfig c : conformance_configs(GetParam())) {
    for (ScalarType out_type : {ScalarType::fp32, c.out_type}) {
      c.out_type = out_type;
      const int64_t m = 7, n = c.part_n(), k = c.part_k();
      const RandomLayer layer = make_random_layer(c, ++seed);
      const Tensor x = random_activations(c.act_type, std::array{m, k}, ++seed);
      Tensor bias;
      if (c.bias) bias = random_activations(ScalarType::bf16, std::array{n}, ++seed);

      // The layer keeps a reference to its kernel: the kernel must outlive it.
      const std::shared_ptr<const Kernel> kernel = reference::make_kernel(c.family);
      const QuantizedLinear linear(c, layer.weights(), *kernel);
      const Tensor y = linear.forward(x, bias);

      const std::vector<double> xq = independent_activations(c, layer, x, m, k);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double sum = c.bias ? spec_bf16(static_cast<uint16_t>(raw(bias, j))) : 0.0, magnitude = std::fabs(sum);
          for (int64_t p = 0; p < k; ++p) {
            const double term = xq[i * k + p] * independent_weight(c, layer, j, p);
            sum += term;
            magnitude += std::fabs(term);
          }
          const double got = spec_decode(out_type, raw(y, i * n + j));
          ASSERT_LE(std::fabs(got - sum), unit_roundoff(out_type) * std::fabs(sum) + 1e-12 * magnitude)
              << c.describe() << " at [" << i << ", " << j << "]";
        }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, ReferenceAgainstIndependent,
                         ::testing::ValuesIn(all_families().begin(), all_families().end()),
                         [](const auto& info) { return std::string(name(info.param)); });

// The quantized activation codes and scales themselves, for the formats with a published rule
// that leaves no freedom (MX: power-of-two scale from the block's largest exponent).
TEST(ReferenceActivations, MxScaleIsTheBlockExponentMinusEight) {
  LayerConfig c = default_config(Family::mxfp8, 8, 64);
  const RandomLayer layer = make_random_layer(c, 1);
  Tensor x = Tensor::empty(ScalarType::fp32, {1, 64});
  for (int i = 0; i < 64; ++i) store_value(x, i, i < 32 ? 0.01 * (i + 1) : 300.0 + i);
  c.act_type = ScalarType::fp32;
  const auto q = reference::quantize_activations(c, layer.weights(), x);
  EXPECT_EQ(load_code(q.scales, 0), static_cast<uint32_t>(127 + (-2) - 8));  // amax 0.32: 2^-2
  EXPECT_EQ(load_code(q.scales, 1), static_cast<uint32_t>(127 + 8 - 8));     // amax 363: 2^8
  EXPECT_EQ(load_value(q.codes, 63), 352.0);  // 363 / 2^0 rounded to e4m3 (320, 352, 384)
}

// e2m1's largest exponent is 2: a block of amax 7.5 gets 2^0 and its 7.5 saturates to 6; a block
// of amax 0.3 gets 2^-4 and 0.3 / 2^-4 = 4.8 rounds to 4 (e2m1 steps by 2 above 4).
TEST(ReferenceActivations, Mxfp4ScaleIsTheBlockExponentMinusTwo) {
  LayerConfig c = default_config(Family::mxfp4, 8, 64);
  const RandomLayer layer = make_random_layer(c, 1);
  Tensor x = Tensor::empty(ScalarType::fp32, {1, 64});
  for (int i = 0; i < 64; ++i) store_value(x, i, i < 32 ? (i == 5 ? -0.3 : 0.01) : 7.5 - i % 2);
  c.act_type = ScalarType::fp32;
  const auto q = reference::quantize_activations(c, layer.weights(), x);
  EXPECT_EQ(load_code(q.scales, 0), static_cast<uint32_t>(127 + (-2) - 2));  // 0.3 = 1.2 · 2^-2
  EXPECT_EQ(load_code(q.scales, 1), static_cast<uint32_t>(127 + 2 - 2));     // 7.5 = 1.875 · 2^2
  EXPECT_EQ(load_value(q.codes, 5), -4.0);  // -0.3 / 2^-4 = -4.8: e2m1 has 4 and 6 there
  EXPECT_EQ(load_value(q.codes, 32), 6.0);  // 7.5 saturates
  EXPECT_EQ(load_value(q.codes, 33), 6.0);  // 6.5 rounds to 6
}

TEST(ReferenceActivations, Int8PerTokenScaleIsAmaxOver127) {
  LayerConfig c = default_config(Family::int8_scaled_mm, 8, 4);
  c.act_type = ScalarType::fp32;
  const RandomLayer layer = make_random_layer(c, 1);
  Tensor x = Tensor::empty(ScalarType::fp32, {2, 4});
  const float values[] = {1.f, -2.54f, 0.5f, 0.f, 0.f, 0.f, 0.f, 0.f};
  std::memcpy(x.data(), values, sizeof(values));
  const auto q = reference::quantize_activations(c, layer.weights(), x);
  EXPECT_FLOAT_EQ(q.scales.data_as<float>()[0], 2.54f / 127.f);
  EXPECT_EQ(load_value(q.codes, 1), -127.0);
  EXPECT_EQ(load_value(q.codes, 0), 50.0);
  EXPECT_EQ(q.scales.data_as<float>()[1], 1.f);  // an all-zero row
  EXPECT_EQ(load_value(q.codes, 5), 0.0);
}

}  // namespace
}  // namespace qlinear
