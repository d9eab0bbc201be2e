// The formats' specifications written out by hand, independently of qlinear's scalar-type table,
// for the tests that check qlinear against them.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qlinear/scalar_type.hpp"

namespace qlinear::spec {

using T = ScalarType;

// OCP 8-bit floating point (v1.0), E4M3: bias 7, no infinities, S.1111.111 is NaN.
inline double spec_e4m3(uint32_t c) {
  const double sign = (c & 0x80) ? -1.0 : 1.0;
  const int e = (c >> 3) & 0xf, m = c & 0x7;
  if (e == 0xf && m == 0x7) return NAN;
  if (e == 0) return sign * (m / 8.0) * std::pow(2.0, -6);
  return sign * (1.0 + m / 8.0) * std::pow(2.0, e - 7);
}

// OCP E5M2: IEEE 754 binary8 with bias 15, infinities and NaNs.
inline double spec_e5m2(uint32_t c) {
  const double sign = (c & 0x80) ? -1.0 : 1.0;
  const int e = (c >> 2) & 0x1f, m = c & 0x3;
  if (e == 0x1f) return m == 0 ? sign * INFINITY : NAN;
  if (e == 0) return sign * (m / 4.0) * std::pow(2.0, -14);
  return sign * (1.0 + m / 4.0) * std::pow(2.0, e - 15);
}

// OCP MX (v1.0) E8M0 scale: 2^(code - 127); 0xFF is NaN.
inline double spec_e8m0(uint32_t c) { return c == 0xff ? NAN : std::pow(2.0, static_cast<int>(c) - 127); }

// OCP MX FP4 E2M1: the eight magnitudes of the specification's table.
inline double spec_e2m1(uint32_t c) {
  constexpr double kMagnitudes[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};
  return ((c & 0x8) ? -1.0 : 1.0) * kMagnitudes[c & 0x7];
}

inline double spec_integer(T type, uint32_t c) {
  switch (type) {
    case T::int8: return static_cast<int8_t>(c);
    case T::uint8: return c;
    case T::uint4b8: return static_cast<double>(c) - 8;
    case T::uint4: return c;
    case T::uint8b128: return static_cast<double>(c) - 128;
    default: return NAN;
  }
}

inline double spec_value(T type, uint32_t c) {
  switch (type) {
    case T::float8_e4m3fn: return spec_e4m3(c);
    case T::float8_e5m2: return spec_e5m2(c);
    case T::float8_e8m0fnu: return spec_e8m0(c);
    case T::float4_e2m1f: return spec_e2m1(c);
    default: return spec_integer(type, c);
  }
}

// IEEE half and bfloat16 from their bits, through the compiler's own conversions.
inline double spec_fp16(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<double>(static_cast<float>(h));
}
inline double spec_bf16(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace qlinear::spec
