#include "qlinear/kernel.hpp"

#include <array>
#include <cmath>

namespace qlinear {

std::string_view name(Provider provider) {
  constexpr std::array<std::string_view, 6> kNames{"reference", "cpu",      "onednn",
                                                   "cuda",      "cublaslt", "external"};
  return kNames[static_cast<int>(provider)];
}

double unit_roundoff(ScalarType type) { return std::ldexp(1.0, -(info(type).mantissa_bits + 1)); }

double Kernel::tolerance(const LayerConfig& config) const {
  // One rounding to the output type, plus the worst case of a K-term fp32 sum (gamma_K ~ K·u).
  return unit_roundoff(config.out_type) +
         static_cast<double>(config.part_k()) * unit_roundoff(ScalarType::fp32);
}

}  // namespace qlinear
