// layer_alloc (src/core/host_memory.hpp): small buffers 64-byte aligned from the heap, large ones
// mapped 2 MiB aligned with the huge-page advice, every byte usable either way. Who takes it: a
// layer's tensors (Tensor::empty with Lifetime::layer, a converter's canonical weights) do,
// per-call tensors (forward's output) do not. populate: a buffer or a file mapping populated
// takes no page fault when touched, and reads what it held (zeros; the file's bytes).
#include "core/host_memory.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "checkpoint/random_checkpoints.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/conformance.hpp"
#include "qlinear/linear.hpp"
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

// The transparent huge page mode in force: "always", "madvise", "never", or "" without THP.
std::string thp_mode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(f, modes);
  const auto open = modes.find('['), close = modes.find(']');
  return open == std::string::npos || close < open ? "" : modes.substr(open + 1, close - open - 1);
}

bool thp_enabled() {
  const std::string mode = thp_mode();
  return mode == "always" || mode == "madvise";
}

// Whether `address` is on the huge-page path: 2 MiB aligned and, where THP is on, advised.
void expect_huge_page_path(const void* address, const std::string& what) {
  EXPECT_EQ(reinterpret_cast<uintptr_t>(address) % kHugePageBytes, 0u) << what;
  if (thp_enabled()) EXPECT_EQ(thp_eligible(address), 1) << what << " lacks the huge-page advice";
}

TEST(HostMemory, SmallBuffersComeFromTheHeap64ByteAligned) {
  for (size_t bytes : {size_t{1}, size_t{100}, kHugePageBytes - 1}) {
    HostMemory m = layer_alloc(bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(m.get()) % 64, 0u) << bytes;
    expect_usable(m.get(), bytes);
  }
}

TEST(HostMemory, LargeBuffersAreHugePageAlignedAndAdvised) {
  // Not a whole number of 4 KiB pages: the tail page is mapped too.
  const size_t bytes = 3 * kHugePageBytes + 100;
  HostMemory m = layer_alloc(bytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.get()) % kHugePageBytes, 0u);
  expect_usable(m.get(), bytes);
  if (!thp_enabled()) GTEST_SKIP() << "transparent huge pages are off on this host";
  EXPECT_EQ(thp_eligible(m.get()), 1) << "the buffer lacks the huge-page advice";
}

TEST(HostMemory, LayerTensorsTakeIt) {
  Tensor t = Tensor::empty(ScalarType::uint4b8, {4096, 4096}, Device::cpu(), Lifetime::layer);
  expect_huge_page_path(t.data(), "an 8 MiB layer tensor");
  expect_usable(t.data_as<uint8_t>(), static_cast<size_t>(t.nbytes()));
}

// A converter's canonical weights are the layer's: a GPTQ layer of 4 MiB of codes.
TEST(HostMemory, ConvertedWeightsTakeIt) {
  using namespace checkpoint;
  const auto formats = testing::all_formats();
  const auto gptq = std::find_if(formats.begin(), formats.end(),
                                 [](const auto& f) { return f.name == "gptq_v1_4bit_sym"; });
  ASSERT_NE(gptq, formats.end());
  const auto dir = std::filesystem::temp_directory_path() / cat("qlinear_host_memory_", getpid());
  testing::write_checkpoint(dir, *gptq, testing::random_files(*gptq, 2048, 4096, 7));
  const CheckpointLayer layer = load_layer(Checkpoint::open(dir.string()), testing::kLayer);
  expect_huge_page_path(layer.weight.data(), "a GPTQ layer's 4 MiB canonical codes");
  std::filesystem::remove_all(dir);
}

// Per-call tensors stay on the C library's heap, which reuses what the last call freed: in THP's
// madvise mode they are never eligible for huge pages, as a mapping of layer_alloc's is.
TEST(HostMemory, PerCallTensorsDoNotTakeIt) {
  if (thp_mode() != "madvise") GTEST_SKIP() << "THP is not in madvise mode on this host";
  const Tensor t = Tensor::empty(ScalarType::bf16, {1024, 4096});  // 8 MiB
  EXPECT_EQ(thp_eligible(t.data()), 0) << "a per-call 8 MiB tensor";

  // forward's output: [256, 4096] bf16, 2 MiB.
  const LayerConfig c = default_config(Family::mixed_precision, 4096, 128);
  const RandomLayer random = make_random_layer(c, 3);
  const QuantizedLinear linear(c, random.weights());
  const std::vector<int64_t> x_shape{256, c.k};
  const Tensor y = linear.forward(random_activations(c.act_type, x_shape, 4));
  ASSERT_GE(static_cast<size_t>(y.nbytes()), kHugePageBytes);
  EXPECT_EQ(thp_eligible(y.data()), 0) << "forward's 2 MiB output";
}

// Minor page faults of this thread so far.
long thread_faults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// Whether this kernel has MADV_POPULATE_WRITE (Linux 5.14): populate is advice only without it.
bool kernel_populates() {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const bool ok = madvise(page, 4096, MADV_POPULATE_WRITE) == 0;
  munmap(page, 4096);
  return ok;
}

TEST(HostMemory, PopulatedBuffersTakeNoFault) {
  if (!kernel_populates()) GTEST_SKIP() << "this kernel lacks MADV_POPULATE_WRITE";
  // From an offset off the 4 KiB grid, to the end of a tail past the last huge page.
  const size_t bytes = 3 * kHugePageBytes + 100;
  HostMemory m = layer_alloc(bytes);
  populate(m.get() + 100, bytes - 100, true);
  const long before = thread_faults();
  size_t nonzero = 0;
  for (size_t i = 0; i < bytes; i += 512) nonzero += m[i] != 0;
  for (size_t i = 0; i < bytes; i += 512) m[i] = 1;
  EXPECT_EQ(thread_faults() - before, 0) << "faults touching a populated buffer";
  EXPECT_EQ(nonzero, 0u);
}

TEST(HostMemory, PopulatedFileMappingsTakeNoFault) {
  if (!kernel_populates()) GTEST_SKIP() << "this kernel lacks MADV_POPULATE_READ";
  const auto path = std::filesystem::temp_directory_path() / cat("qlinear_populate_", getpid());
  constexpr size_t bytes = 1 << 20;
  std::ofstream(path, std::ios::binary) << std::string(bytes, 'q');
  FILE* file = std::fopen(path.c_str(), "rb");
  ASSERT_NE(file, nullptr);
  void* mapped = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fileno(file), 0);
  std::fclose(file);
  ASSERT_NE(mapped, MAP_FAILED);
  const auto* p = static_cast<const char*>(mapped);
  populate(p + 100, bytes - 100, false);
  const long before = thread_faults();
  size_t wrong = 0;
  for (size_t i = 0; i < bytes; i += 512) wrong += p[i] != 'q';
  EXPECT_EQ(thread_faults() - before, 0) << "faults reading a populated file mapping";
  EXPECT_EQ(wrong, 0u);
  munmap(mapped, bytes);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace qlinear::detail
