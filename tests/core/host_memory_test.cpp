// host_alloc (src/core/host_memory.hpp): small buffers 64-byte aligned from the heap, large ones
// mapped 2 MiB aligned with the huge-page advice, every byte usable either way.
#include "core/host_memory.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "qlinear/tensor.hpp"

namespace qlinear::detail {
namespace {

// Writes a pattern over all `bytes` and reads it back.
void expect_usable(uint8_t* p, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(i * 7 + 1);
  size_t wrong = 0;
  for (size_t i = 0; i < bytes; ++i) wrong += p[i] != static_cast<uint8_t>(i * 7 + 1);
  EXPECT_EQ(wrong, 0u);
}

// The THPeligible field of the /proc/self/smaps entry that maps `address`, or -1 where there is
// none (a kernel without transparent huge pages).
int thp_eligible(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto a = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = a >= begin && a < end;
      continue;
    }
    if (inside && line.starts_with("THPeligible:")) return std::stoi(line.substr(12));
  }
  return -1;
}

bool thp_enabled() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(f, modes);
  return modes.find("[never]") == std::string::npos && !modes.empty();
}

TEST(HostMemory, SmallBuffersComeFromTheHeap64ByteAligned) {
  for (size_t bytes : {size_t{1}, size_t{100}, kHugePageBytes - 1}) {
    HostMemory m = host_alloc(bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(m.get()) % 64, 0u) << bytes;
    expect_usable(m.get(), bytes);
  }
}

TEST(HostMemory, LargeBuffersAreHugePageAlignedAndAdvised) {
  // Not a whole number of 4 KiB pages: the tail page is mapped too.
  const size_t bytes = 3 * kHugePageBytes + 100;
  HostMemory m = host_alloc(bytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.get()) % kHugePageBytes, 0u);
  expect_usable(m.get(), bytes);
  if (!thp_enabled()) GTEST_SKIP() << "transparent huge pages are off on this host";
  EXPECT_EQ(thp_eligible(m.get()), 1) << "the buffer lacks the huge-page advice";
}

TEST(HostMemory, TensorsTakeIt) {
  Tensor t = Tensor::empty(ScalarType::uint4b8, {4096, 4096});  // 8 MiB
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % kHugePageBytes, 0u);
  expect_usable(t.data_as<uint8_t>(), static_cast<size_t>(t.nbytes()));
}

}  // namespace
}  // namespace qlinear::detail
