#include <gtest/gtest.h>

#include "qlinear/error.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear {
namespace {

TEST(Tensor, ContiguousViewAndDlpackFields) {
  Tensor t = Tensor::empty(ScalarType::bf16, {3, 5});
  EXPECT_EQ(t.view().ndim(), 2);
  EXPECT_EQ(t.view().stride(0), 5);
  EXPECT_EQ(t.view().stride(1), 1);
  EXPECT_EQ(t.nbytes(), 30);
  EXPECT_TRUE(t.view().is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  EXPECT_EQ(t.view().describe(), "bf16[3, 5] cpu");
  EXPECT_EQ(info(t.dtype()).dl_code, DLCode::kBfloat);
  EXPECT_EQ(static_cast<int>(t.device().type), 1);  // kDLCPU
}

TEST(Tensor, StridedViewWithOffset) {
  Tensor t = Tensor::empty(ScalarType::fp32, {4, 6});
  const int64_t shape[] = {4, 3};
  const int64_t strides[] = {6, 2};
  TensorView v(t.view().base(), ScalarType::fp32, shape, Device::cpu(), strides, 4);
  EXPECT_FALSE(v.is_contiguous());
  EXPECT_EQ(v.data(), static_cast<char*>(t.data()) + 4);
  EXPECT_EQ(v.numel(), 12);
}

TEST(Tensor, PackedNibblesLowFirst) {
  Tensor t = Tensor::empty(ScalarType::uint4b8, {2, 4});
  EXPECT_EQ(t.nbytes(), 4);
  for (int i = 0; i < 8; ++i) store_code(t, i, static_cast<uint32_t>(i + 3));
  const auto* bytes = t.data_as<uint8_t>();
  EXPECT_EQ(bytes[0], 0x43);  // element 0 (3) low, element 1 (4) high
  EXPECT_EQ(bytes[3], 0xa9);
  EXPECT_EQ(load_value(t, 0), 3 - 8);
  EXPECT_EQ(load_code(t, 7), 10u);
}

TEST(Tensor, PackedTypesNeedContiguousRows) {
  char buffer[64];
  const int64_t shape[] = {2, 4};
  const int64_t odd_strides[] = {5, 1};
  EXPECT_THROW(TensorView(buffer, ScalarType::float4_e2m1f, shape, Device::cpu(), odd_strides), Error);
  const int64_t strided_inner[] = {8, 2};
  EXPECT_THROW(TensorView(buffer, ScalarType::uint4, shape, Device::cpu(), strided_inner), Error);
}

TEST(Tensor, DeviceParsing) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda"), Device::cuda(0));
  EXPECT_EQ(Device::parse("cuda:3"), Device::cuda(3));
  EXPECT_EQ(Device::cuda(2).str(), "cuda:2");
  EXPECT_THROW(Device::parse("cuda:x"), Error);
  EXPECT_THROW(Device::parse("tpu"), Error);
}

TEST(Tensor, CopyOfAndErrors) {
  Tensor a = Tensor::empty(ScalarType::int32, {3});
  for (int i = 0; i < 3; ++i) a.data_as<int32_t>()[i] = i * 7;
  Tensor b = Tensor::copy_of(a, Device::cpu());
  EXPECT_NE(a.data(), b.data());
  EXPECT_EQ(b.data_as<int32_t>()[2], 14);
  EXPECT_THROW(a.view().size(3), Error);
  EXPECT_THROW(copy_bytes(Tensor::empty(ScalarType::int32, {2}), a), Error);
}

}  // namespace
}  // namespace qlinear
