// The .npy format: magic "\x93NUMPY", version (major, minor), header length (2 bytes for 1.0,
// 4 bytes later), then a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}
// padded with spaces to a multiple of 64 bytes, then the raw data.
#include "npy.hpp"

#include <cstring>
#include <limits>

#include "qlinear/error.hpp"
#include "qlinear/files.hpp"

namespace qlinear::tool {
namespace {

// The text after "'key':" in the header dict, with leading spaces skipped.
std::string_view value_of(std::string_view header, std::string_view key, const std::string& path) {
  const std::string quoted = cat("'", key, "'");
  const size_t at = header.find(quoted);
  require(at != std::string_view::npos, path, ": .npy header has no '", key, "'");
  size_t i = header.find(':', at + quoted.size());
  require(i != std::string_view::npos, path, ": .npy header entry '", key, "' has no value");
  ++i;
  while (i < header.size() && header[i] == ' ') ++i;
  return header.substr(i);
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  const std::string file = InputFile(path, kMaxNpyBytes).read_all();
  return parse_npy({reinterpret_cast<const uint8_t*>(file.data()), file.size()}, path);
}

NpyArray parse_npy(std::span<const uint8_t> bytes, const std::string& path) {
  require(bytes.size() >= 10 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0, path,
          ": not a .npy file (no \\x93NUMPY magic)");
  const int major = bytes[6];
  require(major >= 1 && major <= 3, path, ": .npy version ", major,
          " is not supported (1 to 3 are)");
  const size_t length_bytes = major == 1 ? 2 : 4;
  require(bytes.size() >= 8 + length_bytes, path, ": truncated .npy header");
  uint32_t header_length = 0;
  std::memcpy(&header_length, bytes.data() + 8, length_bytes);
  const size_t data_begin = 8 + length_bytes + header_length;
  require(data_begin <= bytes.size(), path, ": .npy header length ", header_length,
          " runs past the end of the file");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data()) + 8 + length_bytes,
                                header_length);

  NpyArray array;
  const std::string_view descr = value_of(header, "descr", path);
  require(!descr.empty() && descr[0] == '\'', path, ": .npy descr is not a string");
  array.descr = std::string(descr.substr(1, descr.find('\'', 1) - 1));
  require(value_of(header, "fortran_order", path).starts_with("False"), path,
          ": .npy array is in Fortran order; save it in C order (np.ascontiguousarray)");
  std::string_view shape = value_of(header, "shape", path);
  require(!shape.empty() && shape[0] == '(' && shape.find(')') != std::string_view::npos, path,
          ": .npy shape is not a tuple");
  shape = shape.substr(1, shape.find(')') - 1);
  // The element count, checked against overflow: a shape may claim more than any file holds.
  int64_t numel = 1;
  for (size_t i = 0; i < shape.size();) {
    while (i < shape.size() && (shape[i] == ' ' || shape[i] == ',')) ++i;
    if (i == shape.size()) break;
    size_t end = i;
    while (end < shape.size() && shape[end] >= '0' && shape[end] <= '9') ++end;
    require(end > i && end - i < 12, path, ": .npy shape (", shape,
            ") holds something other than sizes");
    array.shape.push_back(std::stoll(std::string(shape.substr(i, end - i))));
    const int64_t extent = array.shape.back();
    require(extent == 0 || numel <= std::numeric_limits<int64_t>::max() / 4 / extent, path,
            ": .npy shape (", shape, ") has more elements than a file can hold");
    numel *= extent;
    i = end;
  }
  require(array.descr == "<f4" || array.descr == "<f2" || array.descr == "<u2", path,
          ": .npy dtype '", array.descr,
          "' is not float32 (<f4), float16 (<f2) or uint16 holding bfloat16 (<u2)");
  const int64_t element = array.descr == "<f4" ? 4 : 2;
  const int64_t expected = numel * element;
  require(static_cast<int64_t>(bytes.size() - data_begin) == expected, path, ": .npy ", array.descr,
          " array of ", numel, " elements needs ", expected, " data bytes; the file holds ",
          bytes.size() - data_begin);
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_begin), bytes.end());
  return array;
}

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values) {
  std::string dims;
  for (int64_t d : shape) dims += cat(d, ",");
  if (shape.size() > 1) dims.pop_back();  // (3,) for one dimension, (3, 4) otherwise
  std::string header = cat("{'descr': '<f4', 'fortran_order': False, 'shape': (", dims, "), }");
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  ReplacingWriter out(path);
  const uint16_t length = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(&length, 2);
  out.write(header.data(), header.size());
  out.write(values.data(), values.size() * sizeof(float));
  out.commit();
}

}  // namespace qlinear::tool
