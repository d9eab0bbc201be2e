// libFuzzer target: the .npy reader of `qlinear run`. Any input gives an array whose data holds
// exactly numel · element-size bytes, or a qlinear::Error; AddressSanitizer and UBSan (see
// CMakeLists.txt) turn anything else, an overflowing shape product included, into a crash.
#include <cstddef>
#include <cstdint>

#include "../tools/qlinear/npy.hpp"
#include "qlinear/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qlinear::tool;
  try {
    const NpyArray array = parse_npy({data, size}, "fuzz input");
    int64_t numel = 1;
    for (int64_t d : array.shape) numel *= d;
    const int64_t element = array.descr == "<f4" ? 4 : 2;
    if (static_cast<int64_t>(array.data.size()) != numel * element) __builtin_trap();
  } catch (const qlinear::Error&) {
  }
  return 0;
}
