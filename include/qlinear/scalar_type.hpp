// Every scalar type qlinear knows, described by one table (see src/core/scalar_type.cpp), with
// exact encode (round to nearest, ties to even) and decode.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace qlinear {

enum class ScalarType : uint8_t {
  bf16,
  fp16,
  fp32,
  int32,
  int8,
  uint8,
  uint4b8,         // 4-bit code c, value c - 8 (GPTQ symmetric)
  uint4,           // 4-bit code c, value c; used with zero points
  uint8b128,       // 8-bit code c, value c - 128 (GPTQ 8-bit symmetric)
  float8_e4m3fn,   // OCP E4M3: no infinities, S.1111.111 is NaN, max 448
  float8_e5m2,     // OCP E5M2: IEEE-like, with infinities
  float8_e8m0fnu,  // OCP MX scale: 2^(code-127), no sign, no zero, 0xFF is NaN
  float4_e2m1f,    // OCP MX FP4: no infinities, no NaN, max 6
};
inline constexpr int kScalarTypeCount = 13;

// What the largest finite value does on overflow, and what NaN becomes.
enum class Overflow : uint8_t {
  to_infinity,  // IEEE: rounds past the largest finite value to +-inf
  saturate,  // clamps to +-largest finite value (also +-inf); NaN stays NaN where the type has one
};

// DLPack type codes (dlpack.h, v1.1), so a tensor's dtype maps onto DLDataType.
enum class DLCode : uint8_t {
  kInt = 0,
  kUInt = 1,
  kFloat = 2,
  kBfloat = 4,
  kFloat8_e4m3fn = 10,
  kFloat8_e5m2 = 12,
  kFloat8_e8m0fnu = 14,
  kFloat4_e2m1fn = 17,
};

struct ScalarTypeInfo {
  ScalarType type;
  std::string_view name;  // as printed and parsed: "bf16", "uint4b8", "float8_e4m3fn", ...
  int bits;               // storage bits of one element (4-bit types pack two per byte)
  bool is_float;
  bool is_signed;     // has a sign (a sign bit for floats; a negative range for integers)
  int64_t bias;       // integers: value = code - bias
  int exponent_bits;  // floats only
  int mantissa_bits;  // floats only, explicit bits
  int exponent_bias;  // floats only
  bool has_infinity;
  bool has_nan;
  bool has_zero;       // float8_e8m0fnu has none
  bool has_subnormal;  // float8_e8m0fnu has none
  Overflow overflow;   // default encode behaviour, from the format's specification
  double max_finite;   // largest finite value
  double min_value;    // most negative finite value (0 for unsigned, 2^-127 for e8m0)
  DLCode dl_code;
};

// The table row of a type.
const ScalarTypeInfo& info(ScalarType type);
std::string_view name(ScalarType type);
// Parses a type name (also accepts common aliases such as "bfloat16", "e4m3", "fp8"); nullopt if
// unknown.
std::optional<ScalarType> parse_scalar_type(std::string_view name);
// All types, in declaration order.
std::span<const ScalarType> all_scalar_types();

// Value of a code (the low `bits` bits of `code`). Never throws: NaN codes decode to NaN.
double decode(ScalarType type, uint32_t code);
// Nearest code to `value` (round to nearest, ties to even), with the type's own overflow rule.
// Throws qlinear::Error where the type has no encoding for the value (NaN into an integer or
// float4_e2m1f, a negative value into float8_e8m0fnu).
uint32_t encode(ScalarType type, double value);
uint32_t encode(ScalarType type, double value, Overflow overflow);
namespace detail {
// encode() without its fast path for normal bf16 / fp16 / fp32 results: the one rounding rule of
// every type (tests hold the fast path to it).
uint32_t encode_by_quantum(ScalarType type, double value, Overflow overflow);
}  // namespace detail
// decode(encode(value)): the value rounded to the type.
double round_to(ScalarType type, double value);

// Bytes needed for `count` elements, packed (two 4-bit elements a byte, low nibble first).
int64_t storage_bytes(ScalarType type, int64_t count);

}  // namespace qlinear
