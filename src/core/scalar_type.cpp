// The scalar-type table and the one encoder/decoder every type goes through. Floats are encoded
// by scaling the magnitude to an integer count of the type's quantum at its exponent, rounding that
// count to nearest-even, and re-reading the bits; integers by rounding and clamping.
#include "qlinear/scalar_type.hpp"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <optional>

#include "qlinear/error.hpp"

namespace qlinear {
namespace {

using T = ScalarType;
using O = Overflow;

// clang-format off
// type           name             bits float  signed bias exp man ebias  inf    nan    zero   subn   overflow       max_finite                 min_value                    dlpack
constexpr std::array<ScalarTypeInfo, kScalarTypeCount> kTable{{
  {T::bf16,       "bf16",           16, true,  true,  0,   8,  7,  127,   true,  true,  true,  true,  O::to_infinity, 0x1.fep127,                -0x1.fep127,                 DLCode::kBfloat},
  {T::fp16,       "fp16",           16, true,  true,  0,   5,  10, 15,    true,  true,  true,  true,  O::to_infinity, 65504.0,                   -65504.0,                    DLCode::kFloat},
  {T::fp32,       "fp32",           32, true,  true,  0,   8,  23, 127,   true,  true,  true,  true,  O::to_infinity, 0x1.fffffep127,            -0x1.fffffep127,             DLCode::kFloat},
  {T::int32,      "int32",          32, false, true,  0,   0,  0,  0,     false, false, true,  false, O::saturate,    2147483647.0,              -2147483648.0,               DLCode::kInt},
  {T::int8,       "int8",           8,  false, true,  0,   0,  0,  0,     false, false, true,  false, O::saturate,    127.0,                     -128.0,                      DLCode::kInt},
  {T::uint8,      "uint8",          8,  false, false, 0,   0,  0,  0,     false, false, true,  false, O::saturate,    255.0,                     0.0,                         DLCode::kUInt},
  {T::uint4b8,    "uint4b8",        4,  false, true,  8,   0,  0,  0,     false, false, true,  false, O::saturate,    7.0,                       -8.0,                        DLCode::kUInt},
  {T::uint4,      "uint4",          4,  false, false, 0,   0,  0,  0,     false, false, true,  false, O::saturate,    15.0,                      0.0,                         DLCode::kUInt},
  {T::uint8b128,  "uint8b128",      8,  false, true,  128, 0,  0,  0,     false, false, true,  false, O::saturate,    127.0,                     -128.0,                      DLCode::kUInt},
  {T::float8_e4m3fn, "float8_e4m3fn", 8, true, true,  0,   4,  3,  7,     false, true,  true,  true,  O::saturate,    448.0,                     -448.0,                      DLCode::kFloat8_e4m3fn},
  {T::float8_e5m2, "float8_e5m2",   8,  true,  true,  0,   5,  2,  15,    true,  true,  true,  true,  O::to_infinity, 57344.0,                   -57344.0,                    DLCode::kFloat8_e5m2},
  {T::float8_e8m0fnu, "float8_e8m0fnu", 8, true, false, 0, 8,  0,  127,   false, true,  false, false, O::saturate,    0x1p127,                   0x1p-127,                    DLCode::kFloat8_e8m0fnu},
  {T::float4_e2m1f, "float4_e2m1f", 4,  true,  true,  0,   2,  1,  1,     false, false, true,  true,  O::saturate,    6.0,                       -6.0,                        DLCode::kFloat4_e2m1fn},
}};
// clang-format on

constexpr bool table_is_in_enum_order() {
  for (int i = 0; i < kScalarTypeCount; ++i)
    if (static_cast<int>(kTable[i].type) != i) return false;
  return true;
}
static_assert(table_is_in_enum_order(), "kTable rows must follow the ScalarType enum order");

constexpr std::array<ScalarType, kScalarTypeCount> kAllTypes = [] {
  std::array<ScalarType, kScalarTypeCount> all{};
  for (int i = 0; i < kScalarTypeCount; ++i) all[i] = kTable[i].type;
  return all;
}();

struct Alias {
  std::string_view name;
  ScalarType type;
};
constexpr Alias kAliases[] = {
    {"bfloat16", T::bf16},
    {"float16", T::fp16},
    {"half", T::fp16},
    {"float32", T::fp32},
    {"float", T::fp32},
    {"e4m3", T::float8_e4m3fn},
    {"fp8", T::float8_e4m3fn},
    {"fp8_e4m3", T::float8_e4m3fn},
    {"e5m2", T::float8_e5m2},
    {"fp8_e5m2", T::float8_e5m2},
    {"e8m0", T::float8_e8m0fnu},
    {"ue8m0", T::float8_e8m0fnu},
    {"e2m1", T::float4_e2m1f},
    {"fp4", T::float4_e2m1f},
    {"float4_e2m1fn", T::float4_e2m1f},
    {"int4b8", T::uint4b8},
};

uint32_t low_bits_mask(int bits) { return bits >= 32 ? 0xffffffffu : (1u << bits) - 1u; }

// ---- floats ----------------------------------------------------------------------------------

uint32_t sign_bit(const ScalarTypeInfo& f) { return f.is_signed ? 1u << (f.bits - 1) : 0u; }
uint32_t exponent_field_max(const ScalarTypeInfo& f) { return (1u << f.exponent_bits) - 1u; }
uint32_t mantissa_field_max(const ScalarTypeInfo& f) { return (1u << f.mantissa_bits) - 1u; }

// Smallest unbiased exponent of a code with a nonzero exponent field (or of code 0 without
// subnormals).
int min_exponent(const ScalarTypeInfo& f) {
  return f.has_subnormal ? 1 - f.exponent_bias : -f.exponent_bias;
}

bool is_nan_code(const ScalarTypeInfo& f, uint32_t code) {
  if (!f.has_nan) return false;
  const uint32_t magnitude = code & ~sign_bit(f);
  const uint32_t e = magnitude >> f.mantissa_bits;
  const uint32_t m = magnitude & mantissa_field_max(f);
  if (f.has_infinity) return e == exponent_field_max(f) && m != 0;  // IEEE
  if (f.mantissa_bits == 0) return e == exponent_field_max(f);      // e8m0: 0xFF
  return e == exponent_field_max(f) && m == mantissa_field_max(f);  // e4m3fn: S.1111.111
}

uint32_t nan_code(const ScalarTypeInfo& f) {
  const uint32_t all_exponent = exponent_field_max(f) << f.mantissa_bits;
  if (f.has_infinity) return all_exponent | (1u << (f.mantissa_bits - 1));  // quiet NaN
  return all_exponent | mantissa_field_max(f);
}

uint32_t infinity_code(const ScalarTypeInfo& f) { return exponent_field_max(f) << f.mantissa_bits; }

double decode_float(const ScalarTypeInfo& f, uint32_t code) {
  if (is_nan_code(f, code)) return std::nan("");
  const bool negative = (code & sign_bit(f)) != 0;
  const uint32_t magnitude = code & ~sign_bit(f);
  const uint32_t e = magnitude >> f.mantissa_bits;
  const uint32_t m = magnitude & mantissa_field_max(f);
  double value;
  if (f.has_infinity && e == exponent_field_max(f)) {
    value = INFINITY;
  } else if (e == 0 && f.has_subnormal) {
    value = std::ldexp(static_cast<double>(m), min_exponent(f) - f.mantissa_bits);
  } else {
    const double significand = 1.0 + std::ldexp(static_cast<double>(m), -f.mantissa_bits);
    value = std::ldexp(significand, static_cast<int>(e) - f.exponent_bias);
  }
  return negative ? -value : value;
}

// Bits of a magnitude already rounded to the type and within its finite range.
uint32_t float_bits_of_representable(const ScalarTypeInfo& f, double magnitude) {
  if (magnitude == 0) return 0;
  const int e = std::ilogb(magnitude);
  const int emin = min_exponent(f);
  if (e < emin) {  // subnormal: exponent field 0, value = m * 2^(emin - mantissa_bits)
    return static_cast<uint32_t>(std::ldexp(magnitude, f.mantissa_bits - emin));
  }
  const double mantissa =
      std::ldexp(magnitude, f.mantissa_bits - e) - std::ldexp(1.0, f.mantissa_bits);
  const uint32_t e_field = static_cast<uint32_t>(e + f.exponent_bias);
  return (e_field << f.mantissa_bits) | static_cast<uint32_t>(mantissa);
}

uint32_t encode_float(const ScalarTypeInfo& f, double value, Overflow overflow) {
  if (std::isnan(value)) {
    require(f.has_nan, name(f.type), " has no NaN: cannot encode NaN");
    return nan_code(f);
  }
  const bool negative = std::signbit(value);
  if (!f.is_signed && negative && value != 0) {
    throw Error(cat(name(f.type), " is unsigned: cannot encode ", value));
  }
  const uint32_t sign = negative ? sign_bit(f) : 0u;
  const uint32_t max_code = float_bits_of_representable(f, f.max_finite);
  const auto overflowed = [&]() -> uint32_t {
    if (overflow == Overflow::saturate) return sign | max_code;
    if (f.has_infinity) return sign | infinity_code(f);
    if (f.has_nan) return nan_code(f);
    return sign | max_code;
  };

  const double magnitude = std::fabs(value);
  if (std::isinf(magnitude)) return overflowed();
  // The quantum (spacing of codes) at this magnitude; below the normal range it is the subnormal
  // one.
  const int e = magnitude == 0 ? min_exponent(f) : std::max(std::ilogb(magnitude), min_exponent(f));
  const double quantum = std::ldexp(1.0, e - f.mantissa_bits);
  double count = std::nearbyint(magnitude / quantum);  // ties to the even count
  if (f.mantissa_bits == 0 && magnitude / quantum == 1.5) {
    // With no mantissa the candidates 2^e and 2^(e+1) are neighbouring codes: the tie goes to
    // the even code, not to the even count.
    count = ((e + f.exponent_bias) % 2 == 0) ? 1.0 : 2.0;
  }
  const double rounded = count * quantum;
  if (rounded > f.max_finite) return overflowed();
  if (rounded == 0) {
    // Types without zero (e8m0) round up to their smallest value.
    return f.has_zero ? sign : 0u;
  }
  return sign | float_bits_of_representable(f, rounded);
}

// ---- integers ----------------------------------------------------------------------------------

double decode_integer(const ScalarTypeInfo& f, uint32_t code) {
  code &= low_bits_mask(f.bits);
  if (f.is_signed && f.bias == 0) {  // two's complement
    const int64_t sign = int64_t{1} << (f.bits - 1);
    const int64_t v = static_cast<int64_t>(code);
    return static_cast<double>(v >= sign ? v - 2 * sign : v);
  }
  return static_cast<double>(static_cast<int64_t>(code) - f.bias);
}

uint32_t encode_integer(const ScalarTypeInfo& f, double value) {
  require(!std::isnan(value), name(f.type), " has no NaN: cannot encode NaN");
  const double rounded = std::clamp(std::nearbyint(value), f.min_value, f.max_finite);
  const int64_t code = static_cast<int64_t>(rounded) + f.bias;
  return static_cast<uint32_t>(code) & low_bits_mask(f.bits);
}

}  // namespace

const ScalarTypeInfo& info(ScalarType type) { return kTable[static_cast<int>(type)]; }
std::string_view name(ScalarType type) { return info(type).name; }
std::span<const ScalarType> all_scalar_types() { return kAllTypes; }

std::optional<ScalarType> parse_scalar_type(std::string_view text) {
  for (const auto& row : kTable)
    if (row.name == text) return row.type;
  for (const auto& alias : kAliases)
    if (alias.name == text) return alias.type;
  return std::nullopt;
}

double decode(ScalarType type, uint32_t code) {
  const auto& f = info(type);
  code &= low_bits_mask(f.bits);
  return f.is_float ? decode_float(f, code) : decode_integer(f, code);
}

namespace {

// The float types with a mantissa (bf16, fp16, fp32, e4m3, e5m2, e2m1) where the value rounds to
// a finite code: the double's significand rounded to the type's by integer arithmetic (normal
// range) or the count of subnormal quanta (below it), to nearest, ties to even — what
// encode_float computes, at a few ns a value instead of its exponent and quantum arithmetic
// (benches, tests and the random layers encode ~10^8 values). nullopt where encode_float decides
// something else: NaN, infinity, overflow past the largest finite value, a negative value of an
// unsigned type, a type without a mantissa (e8m0) or without subnormals below its normal range.
std::optional<uint32_t> encode_float_fast(const ScalarTypeInfo& f, double value) {
  if (!f.is_float || f.mantissa_bits == 0 || !std::isfinite(value)) return std::nullopt;
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const bool negative = bits >> 63;
  if (negative && !f.is_signed) return std::nullopt;
  const uint32_t sign = negative ? uint32_t{1} << (f.bits - 1) : 0u;
  const int exponent = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  const int emin = 1 - f.exponent_bias;
  uint32_t magnitude;
  if (exponent < emin) {  // zero, a double subnormal, or below the type's normal range
    if (!f.has_subnormal || !f.has_zero) return std::nullopt;
    // Whole quanta of 2^(emin - mantissa_bits), ties to the even count; a count of 2^mantissa
    // is the smallest normal code, as its bits say.
    magnitude =
        static_cast<uint32_t>(std::nearbyint(std::ldexp(std::fabs(value), f.mantissa_bits - emin)));
  } else {
    const int drop = 52 - f.mantissa_bits;
    const uint64_t significand = (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1} << 52);
    const uint64_t half_less_one = (uint64_t{1} << (drop - 1)) - 1;
    uint64_t rounded = (significand + half_less_one + ((significand >> drop) & 1)) >> drop;
    int biased = exponent + f.exponent_bias;
    if (rounded >> (f.mantissa_bits + 1)) rounded >>= 1, ++biased;  // carried into the next binade
    if (biased > (1 << f.exponent_bits) - (f.has_infinity ? 2 : 1)) return std::nullopt;
    const double rounded_value =
        std::ldexp(static_cast<double>(rounded), biased - f.exponent_bias - f.mantissa_bits);
    if (rounded_value > f.max_finite) return std::nullopt;  // overflow (or e4m3's NaN code)
    magnitude = static_cast<uint32_t>(biased) << f.mantissa_bits |
                static_cast<uint32_t>(rounded & ((uint64_t{1} << f.mantissa_bits) - 1));
  }
  return sign | magnitude;
}

}  // namespace

uint32_t detail::encode_by_quantum(ScalarType type, double value, Overflow overflow) {
  const auto& f = info(type);
  return f.is_float ? encode_float(f, value, overflow) : encode_integer(f, value);
}

uint32_t encode(ScalarType type, double value, Overflow overflow) {
  if (const auto fast = encode_float_fast(info(type), value)) return *fast;
  return detail::encode_by_quantum(type, value, overflow);
}

uint32_t encode(ScalarType type, double value) { return encode(type, value, info(type).overflow); }

double round_to(ScalarType type, double value) { return decode(type, encode(type, value)); }

int64_t storage_bytes(ScalarType type, int64_t count) { return (count * info(type).bits + 7) / 8; }

}  // namespace qlinear
