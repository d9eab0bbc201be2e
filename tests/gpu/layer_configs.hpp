// Layer configs the CUDA tests share (GPU and host).
#pragma once

#include <cstdint>

#include "qlinear/config.hpp"

namespace qlinear::testing {

// A mixed_precision layer of the given weight type (zero points for uint4 / uint8) with groups of
// group_size, or per-channel scales for 0.
inline LayerConfig mixed_precision(ScalarType type, int64_t n, int64_t k, int64_t group_size) {
  LayerConfig c = default_config(Family::mixed_precision, n, k);
  c.weight_type = type;
  c.zero_points = type == ScalarType::uint4 || type == ScalarType::uint8;
  c.group_size = group_size;
  if (group_size == 0) c.weight_scale = Granularity::per_channel;
  return c;
}

// `c` changed by `adjust`, validated.
template <typename Adjust>
LayerConfig with(LayerConfig c, Adjust adjust) {
  adjust(c);
  validate(c);
  return c;
}

}  // namespace qlinear::testing
