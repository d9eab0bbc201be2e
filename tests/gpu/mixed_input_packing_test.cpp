// StoredCodes (cuda/detail/fragments.hpp), which the mixed-input kernels' packers read the weights
// through (host code: runs without a GPU, in CI): it gives load_code's code at every position of
// 4-bit rows that start mid-byte (odd K) and of 8-bit rows, through the format's packing table, in
// act order, and the padding code past N and K.
#include <gtest/gtest.h>

#include "cuda/detail/fragments.hpp"
#include "qlinear/tensor.hpp"
#include "random_codes.hpp"

namespace qlinear::cuda::detail {
namespace {

void expect_reads_as_load_code(ScalarType type, int64_t n, int64_t k, bool act_order) {
  const int bits = static_cast<int>(info(type).bits);
  const auto [codes, order] =
      testing::random_codes(type, n, k, act_order, static_cast<uint32_t>(n * k));
  std::vector<uint8_t> pack(size_t{1} << bits);
  for (size_t c = 0; c < pack.size(); ++c) pack[c] = static_cast<uint8_t>(c ^ 0x5);  // not identity
  const StoredCodes code =
      stored_codes(codes.data_as<const uint8_t>(), bits, n, k, order, pack, 0x3);
  for (int64_t row = 0; row < n + 2; ++row)
    for (int64_t kk = 0; kk < k + 3; ++kk) {
      uint32_t want = 0x3;
      if (row < n && kk < k)
        want = pack[load_code(codes, row * k + (order.empty() ? kk : order[kk]))];
      ASSERT_EQ(code(row, kk), want) << name(type) << " [" << n << ", " << k << "] at (" << row
                                     << ", " << kk << ")" << (act_order ? " in act order" : "");
    }
}

TEST(StoredCodes, ReadsEveryPositionAsLoadCodeDoes) {
  for (bool act_order : {false, true}) {
    expect_reads_as_load_code(ScalarType::uint4b8, 5, 37, act_order);  // odd K: rows mid-byte
    expect_reads_as_load_code(ScalarType::uint4b8, 4, 64, act_order);
    expect_reads_as_load_code(ScalarType::uint8b128, 3, 41, act_order);
    expect_reads_as_load_code(ScalarType::float8_e4m3fn, 2, 32, act_order);
  }
}

}  // namespace
}  // namespace qlinear::cuda::detail
