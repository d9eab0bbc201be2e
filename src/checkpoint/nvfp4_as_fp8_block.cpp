// NVFP4 weights re-encoded as 128 x 128 block FP8 (issue 19): on GPUs with FP8 tensor cores but no
// FP4 ones (Hopper), an NVFP4 checkpoint's layer can run on the block-FP8 kernels, which read a
// byte a weight instead of half a byte but multiply at the FP8 rate (vLLM reports +62 % output
// tokens/s on H200 over weight-only NVFP4).
//
// An NVFP4 weight is ŵ = v · g: v = e2m1 code × e4m3 scale of its 16 along K (exact in double, at
// most 6 significant bits: 1.1b × 1.111b), g the fp32 global scale. A 128 x 128 block gets the
// fp32 scale S = g · 2^E, E the least exponent with max|v| / 2^E <= 448 (e4m3's largest finite),
// and each weight the e4m3 code nearest v / 2^E (ties to even). So
//   |ŵ' - ŵ| <= max(2^-4 |ŵ|, 2^-10 S):
// half an e4m3 ulp (3 mantissa bits) where v / 2^E is a normal e4m3 (>= 2^-6), half the subnormal
// step 2^-9 below; the re-encoding is exact where every v / 2^E of a block has at most 4
// significant bits and no bit below 2^-9 (one block scale an e2m1 grid, for instance). A block's
// values span the range of the e4m3 block scales (2^-9 .. 448) times e2m1's (0.5 .. 6), wider
// than e4m3's own: the smallest of a block with widely spread scales lose bits or become 0, within
// the absolute term of the bound.
#include <cmath>

#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::checkpoint {

double nvfp4_as_fp8_block_bound(double w_hat, double block_scale) {
  return std::fmax(std::ldexp(std::fabs(w_hat), -4), std::ldexp(std::fabs(block_scale), -10));
}

CheckpointLayer nvfp4_as_fp8_block(const CheckpointLayer& nvfp4) {
  const LayerConfig& c = nvfp4.config;
  require(c.family == Family::nvfp4 || c.family == Family::nvfp4_weight_only, nvfp4.name,
          ": only an NVFP4 layer (nvfp4 or nvfp4_weight_only) is re-encoded as block FP8, not ",
          name(c.family));
  validate(c);
  const LayerConfig f = fp8_block_config_for_nvfp4(c);
  validate(f);

  const int64_t n = c.part_n(), k = c.part_k();
  const Tensor codes = Tensor::copy_of(nvfp4.weight, Device::cpu());
  const Tensor scales = Tensor::copy_of(nvfp4.weight_scale, Device::cpu());
  const double global = load_value(Tensor::copy_of(nvfp4.weight_global_scale, Device::cpu()), 0);
  require(std::isfinite(global) && global > 0, nvfp4.name, ": weight_global_scale is ", global,
          "; a finite positive scale is re-encoded");
  const int64_t groups = scales.shape()[1];
  const auto v = [&](int64_t row, int64_t col) {
    return load_value(codes, row * k + col) * load_value(scales, row * groups + col / c.group_size);
  };

  CheckpointLayer out;
  out.name = nvfp4.name;
  out.format = cat(nvfp4.format, ", re-encoded as 128x128 block FP8");
  out.config = f;
  out.bias = nvfp4.bias;
  out.weight = Tensor::empty(ScalarType::float8_e4m3fn, {n, k}, Device::cpu(), Lifetime::layer);
  const auto [block_rows, block_cols] = f.weight_scale_shape();
  out.weight_scale =
      Tensor::empty(ScalarType::fp32, {block_rows, block_cols}, Device::cpu(), Lifetime::layer);
  const double e4m3_max = info(ScalarType::float8_e4m3fn).max_finite;
  for (int64_t br = 0; br < block_rows; ++br)
    for (int64_t bc = 0; bc < block_cols; ++bc) {
      const int64_t r0 = br * f.block_n, r1 = std::min(n, r0 + f.block_n);
      const int64_t c0 = bc * f.group_size, c1 = std::min(k, c0 + f.group_size);
      double largest = 0;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t col = c0; col < c1; ++col) largest = std::fmax(largest, std::fabs(v(r, col)));
      // The least E with largest / 2^E <= 448: largest in [2^(e-1), 2^e) gives E = e - 9 or,
      // where largest / 2^(e - 9) > 448, e - 8.
      int exponent = 0;
      if (largest > 0) {
        std::frexp(largest, &exponent);
        exponent -= 9;
        if (std::ldexp(largest, -exponent) > e4m3_max) ++exponent;
      }
      const double block_scale = std::ldexp(global, exponent);
      require(std::isnormal(static_cast<float>(block_scale)), nvfp4.name, ": block (", br, ", ", bc,
              ")'s scale ", block_scale, " is not a normal fp32");
      store_value(out.weight_scale, br * block_cols + bc, block_scale);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t col = c0; col < c1; ++col)
          store_code(out.weight, r * k + col,
                     encode(ScalarType::float8_e4m3fn, std::ldexp(v(r, col), -exponent)));
    }
  validate_weights(f, out.weights(), Device::cpu());
  return out;
}

}  // namespace qlinear::checkpoint
