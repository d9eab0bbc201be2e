// NumPy .npy files (format versions 1.0 to 3.0), as `qlinear run` reads its input and writes its
// output: little-endian float32, float16 or uint16 (bfloat16 bits), C order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qlinear::tool {

struct NpyArray {
  std::string descr;  // "<f4", "<f2", "<u2", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // numel · element size bytes
};

// The largest input read: x of 64 Ki tokens by K = 16 Ki in float32.
constexpr int64_t kMaxNpyBytes = int64_t{4} << 30;

// Reads <f4, <f2 or <u2 arrays from a regular file of at most kMaxNpyBytes. Throws qlinear::Error
// naming the file and what is wrong (bad magic, another dtype, Fortran order, a header or size
// that does not add up).
NpyArray read_npy(const std::string& path);
// The same checks on the bytes of a file; `path` names it in messages.
NpyArray parse_npy(std::span<const uint8_t> bytes, const std::string& path);
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values);

}  // namespace qlinear::tool
