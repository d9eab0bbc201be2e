// NumPy .npy files (format versions 1.0 to 3.0), as `qlinear run` reads its input and writes its
// output: little-endian float32, float16 or uint16 (bfloat16 bits), C order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qlinear::tool {

struct NpyArray {
  std::string descr;  // "<f4", "<f2", "<u2", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // numel · element size bytes
};

// Reads <f4, <f2 or <u2 arrays. Throws qlinear::Error naming the file and what is wrong (bad
// magic, another dtype, Fortran order, a header or size that does not add up).
NpyArray read_npy(const std::string& path);
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values);

}  // namespace qlinear::tool
