// store_rows an element at a time (the twin of store_rows_avx512).
#include "cpu/convert.hpp"
#include "cpu/store_rows.hpp"

namespace qlinear::cpu {

void store_rows_scalar(const TileRows& a) {
  // A loop per output type, the type switch outside it.
  const auto store_as = [&](auto* out, auto convert) {
    for (int64_t r = 0; r < a.rows; ++r)
      for (int64_t j = 0; j < a.cols; ++j) {
        float v = a.y[(j / 16) * a.rows * 16 + r * 16 + j % 16];
        if (a.row_scale) v *= a.row_scale[r];
        if (a.bias) v += a.bias[j];
        out[r * a.out_stride + j] = convert(v);
      }
  };
  switch (a.out_type) {
    case ScalarType::bf16:
      store_as(static_cast<uint16_t*>(a.out), float_to_bf16);
      break;
    case ScalarType::fp16:
      store_as(static_cast<uint16_t*>(a.out), float_to_fp16);
      break;
    default:
      store_as(static_cast<float*>(a.out), [](float v) { return v; });
      break;
  }
}

}  // namespace qlinear::cpu
