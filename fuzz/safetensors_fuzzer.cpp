// libFuzzer target: the safetensors header parser and every tensor it admits. Any input must give
// either a file whose tensors lie inside the buffer or a qlinear::Error; AddressSanitizer and
// UBSan (see CMakeLists.txt) turn anything else into a crash.
#include <cstddef>
#include <cstdint>

#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qlinear::checkpoint;
  try {
    const auto file =
        SafetensorsFile::parse({reinterpret_cast<const std::byte*>(data), size}, "fuzz input");
    unsigned checksum = 0;
    for (const TensorEntry& t : file->tensors()) {
      // Every byte a tensor claims must be readable.
      for (int64_t i = 0; i < t.nbytes; ++i) checksum += static_cast<unsigned>(t.data[i]);
      if (t.numel() > 0) checksum += static_cast<unsigned>(t.value(t.numel() - 1) != 0);
      checksum += static_cast<unsigned>(t.describe().size());
      if (file->find(t.name) != &t) __builtin_trap();
    }
    static volatile unsigned sink;
    sink = checksum;
  } catch (const qlinear::Error&) {
  }
  return 0;
}
