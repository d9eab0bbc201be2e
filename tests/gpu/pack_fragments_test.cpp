// The mixed-input weights packed on the GPU (cuda/pack_fragments.cu) word for word as the host
// model packs them (cuda/detail/fragments.hpp, whose layouts the kernels' tests and the host
// fragment tests check): every layout, rows and K off the tiles (padding codes), 4-bit rows that
// start mid-byte, a packing table that is not the identity, act order; the output poisoned first
// by the allocator's fresh memory and compared whole.
#include "cuda/pack_fragments.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "qlinear/tensor.hpp"
#include "random_codes.hpp"

namespace qlinear::cuda::detail {
namespace {

void expect_packed_as_on_the_host(FragmentLayout layout, int64_t n, int64_t k, bool act_order) {
  const int bits = layout == FragmentLayout::bits8 ? 8 : 4;
  const ScalarType type = bits == 8 ? ScalarType::uint8b128 : ScalarType::uint4b8;
  auto [codes, order] = testing::random_codes(
      type, n, k, act_order, static_cast<uint32_t>(n * 131 + k + (act_order ? 7 : 0)));
  std::vector<uint8_t> pack(size_t{1} << bits);
  for (size_t c = 0; c < pack.size(); ++c)
    pack[c] = static_cast<uint8_t>((c * 7 + 3) % pack.size());
  const int64_t padded_n = (n + 63) / 64 * 64;
  const int64_t padded_k = (k + block_k(layout) - 1) / block_k(layout) * block_k(layout);
  const Device gpu = Device::cuda(0);

  const std::vector<uint32_t> want =
      pack_fragments(layout, padded_n, padded_k,
                     stored_codes(codes.data_as<const uint8_t>(), bits, n, k, order, pack, 0x5));
  const Tensor codes_on_gpu = Tensor::copy_of(codes, gpu);
  Tensor order_on_gpu;
  if (act_order) {
    const TensorView host_order(order.data(), ScalarType::int32, {k});
    order_on_gpu = Tensor::copy_of(host_order, gpu);
  }
  const Tensor packed = pack_fragments_on(
      gpu, layout, padded_n, padded_k,
      stored_codes(codes_on_gpu.data_as<const uint8_t>(), bits, n, k,
                   {order_on_gpu.data_as<const int32_t>(), order.size()}, pack, 0x5));
  ASSERT_EQ(packed.numel(), static_cast<int64_t>(want.size()));
  const Tensor got = Tensor::copy_of(packed, Device::cpu());
  const auto* words = got.data_as<const uint32_t>();
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(words[i], want[i]) << "word " << i << " of [" << n << ", " << k << "] in layout "
                                 << static_cast<int>(layout) << (act_order ? ", act order" : "");
}

TEST(PackFragmentsOnGpu, EveryWordAsTheHostModel) {
  for (const bool act_order : {false, true})
    for (const FragmentLayout layout :
         {FragmentLayout::bits4, FragmentLayout::bits8, FragmentLayout::s8}) {
      expect_packed_as_on_the_host(layout, 37, 101, act_order);  // odd K: 4-bit rows mid-byte
      expect_packed_as_on_the_host(layout, 128, 256, act_order);
      expect_packed_as_on_the_host(layout, 200, 1000, act_order);
    }
}

}  // namespace
}  // namespace qlinear::cuda::detail
