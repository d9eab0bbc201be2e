// safetensors' F4 dtype (torch's float4_e2m1fn_x2: two e2m1 codes a byte, the even one in the low
// nibble, the shape counting codes): every format that stores e2m1 codes as U8 pairs reads the
// same bytes stored as F4 to the same layer, whole and as a tensor-parallel rank's part; F4 codes
// with the U8 pairs' shape (half the codes) are refused, naming the layer.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "checkpoint/random_checkpoints.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"

namespace qlinear::checkpoint {
namespace {

using testing::Files;
using testing::Format;
using testing::kLayer;

std::filesystem::path folder(const std::string& name) {
  return std::filesystem::temp_directory_path() / cat("qlinear_f4_", getpid(), "_", name);
}

// The index of the format's e2m1 codes among its files (U8, two a byte), or -1.
int fp4_codes(const Format& format, const Files& files) {
  for (size_t i = 0; i < files.specs.size(); ++i)
    if (files.specs[i].suffix == format.weight && files.specs[i].dtype == Dtype::U8 &&
        format.name.find("fp4") != std::string::npos)
      return static_cast<int>(i);
  return -1;
}

void expect_same_tensor(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.view().describe(), b.view().describe()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), static_cast<size_t>(a.nbytes())), 0) << what;
}

TEST(F4Codes, ReadAsTheSameLayerAsU8Pairs) {
  int formats = 0;
  uint64_t seed = 1;
  for (const Format& format : testing::all_formats()) {
    const int64_t n = 64, k = 256;
    if (!format.fits(n, k)) continue;
    const Files u8 = testing::random_files(format, n, k, seed++);
    const int codes = fp4_codes(format, u8);
    if (codes < 0) continue;
    ++formats;
    Files f4 = u8;
    f4.specs[codes].dtype = Dtype::F4;
    f4.specs[codes].shape.back() *= 2;  // codes, not bytes
    const auto dir_u8 = folder(format.name + "_u8"), dir_f4 = folder(format.name + "_f4");
    testing::write_checkpoint(dir_u8, format, u8);
    testing::write_checkpoint(dir_f4, format, f4);
    const Checkpoint a = Checkpoint::open(dir_u8.string()), b = Checkpoint::open(dir_f4.string());
    for (int size : {1, 2}) {
      const TensorParallel tp{Split::columns, 0, size};
      const CheckpointLayer x = load_layer(a, kLayer, tp), y = load_layer(b, kLayer, tp);
      const std::string what = cat(format.name, " rank 0 of ", size);
      EXPECT_EQ(x.format, y.format) << what;
      EXPECT_EQ(x.config.describe(), y.config.describe()) << what;
      expect_same_tensor(x.weight, y.weight, what + ", weight");
      expect_same_tensor(x.weight_scale, y.weight_scale, what + ", weight_scale");
    }
    std::filesystem::remove_all(dir_u8);
    std::filesystem::remove_all(dir_f4);
  }
  // compressed-tensors nvfp4 (W4A4, W4A16) and mxfp4 (W4A4, W4A16), ModelOpt NVFP4, gpt-oss.
  EXPECT_EQ(formats, 6);
}

TEST(F4Codes, AShapeCountingBytesIsRefused) {
  for (const Format& format : testing::all_formats()) {
    const Files u8 = testing::random_files(format, 64, 256, 7);
    const int codes = fp4_codes(format, u8);
    if (codes < 0) continue;
    Files f4 = u8;
    f4.specs[codes].dtype = Dtype::F4;
    // The U8 shape with F4's dtype: half the bytes the header promises, so the file is rewritten
    // with the bytes the shape needs — a layer of half the K, which must not load as this one.
    f4.bytes[codes].resize(f4.bytes[codes].size() / 2);
    const auto dir = folder(format.name + "_short");
    testing::write_checkpoint(dir, format, f4);
    const Checkpoint c = Checkpoint::open(dir.string());
    try {
      load_layer(c, kLayer);
      ADD_FAILURE() << format.name << ": loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(kLayer), std::string::npos)
          << format.name << ": " << e.what();
    }
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace qlinear::checkpoint
