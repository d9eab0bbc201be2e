// QuantizedLinear: bad weights and bad calls get errors naming the tensor; nothing the caller
// owns is modified; one layer is safe to run from several threads.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "qlinear/conformance.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"

namespace qlinear {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

#define EXPECT_ERROR_MENTIONS(statement, text)                                      \
  do {                                                                              \
    const std::string message_ = error_of([&] { statement; });                      \
    EXPECT_NE(message_.find(text), std::string::npos) << "message: " << message_; \
  } while (0)

TEST(Linear, BadWeightsNameTheTensor) {
  LayerConfig c = default_config(Family::mixed_precision, 64, 256);
  c.act_order = true;
  RandomLayer layer = make_random_layer(c, 1);
  LayerWeights w = layer.weights();

  LayerWeights missing = w;
  missing.weight_scale = {};
  EXPECT_ERROR_MENTIONS(QuantizedLinear(c, missing), "weight_scale is missing");

  Tensor wrong_dtype = Tensor::empty(ScalarType::fp32, {64, 2});
  LayerWeights bad_dtype = w;
  bad_dtype.weight_scale = wrong_dtype;
  EXPECT_ERROR_MENTIONS(QuantizedLinear(c, bad_dtype), "weight_scale has dtype fp32; expected bf16");

  Tensor wrong_shape = Tensor::empty(ScalarType::bf16, {64, 3});
  LayerWeights bad_shape = w;
  bad_shape.weight_scale = wrong_shape;
  EXPECT_ERROR_MENTIONS(QuantizedLinear(c, bad_shape), "weight_scale has shape [64, 3]; expected [64, 2]");

  Tensor g_idx = Tensor::copy_of(layer.g_idx, Device::cpu());
  g_idx.data_as<int32_t>()[5] = 9;
  LayerWeights bad_g_idx = w;
  bad_g_idx.g_idx = g_idx;
  EXPECT_ERROR_MENTIONS(QuantizedLinear(c, bad_g_idx), "g_idx[5] is 9");

  LayerWeights no_g_idx = w;
  no_g_idx.g_idx = {};
  EXPECT_ERROR_MENTIONS(QuantizedLinear(c, no_g_idx), "g_idx is missing");

  LayerWeights extra = w;
  extra.input_scale = layer.weight_scale;
  EXPECT_ERROR_MENTIONS(QuantizedLinear(c, extra), "input_scale");

  EXPECT_ERROR_MENTIONS(QuantizedLinear(c, w, Device::cuda(0)), "cuda:0");
}

TEST(Linear, BadCallsNameTheArgument) {
  LayerConfig c = default_config(Family::int8_scaled_mm, 48, 96);
  c.bias = true;
  const RandomLayer layer = make_random_layer(c, 2);
  const QuantizedLinear linear(c, layer.weights());
  const Tensor x = random_activations(ScalarType::bf16, std::array<int64_t, 2>{4, 96}, 3);
  const Tensor bias = random_activations(ScalarType::fp32, std::array<int64_t, 1>{48}, 4);
  Tensor out = Tensor::empty(ScalarType::bf16, {4, 48});

  EXPECT_ERROR_MENTIONS(linear.forward_into(random_activations(ScalarType::fp16, std::array<int64_t, 2>{4, 96}, 1), out, bias),
                        "x has dtype fp16; the layer takes bf16");
  EXPECT_ERROR_MENTIONS(linear.forward_into(random_activations(ScalarType::bf16, std::array<int64_t, 2>{4, 95}, 1), out, bias),
                        "x has shape [4, 95]; expected [..., 96]");
  EXPECT_ERROR_MENTIONS(linear.forward_into(x, Tensor::empty(ScalarType::bf16, {5, 48}), bias), "out has shape [5, 48]");
  EXPECT_ERROR_MENTIONS(linear.forward_into(x, Tensor::empty(ScalarType::fp32, {4, 48}), bias), "out has dtype fp32");
  EXPECT_ERROR_MENTIONS(linear.forward_into(x, out), "bias is missing");
  EXPECT_ERROR_MENTIONS(linear.forward_into(x, out, Tensor::empty(ScalarType::fp32, {47})), "bias has shape [47]");
  // Non-contiguous x: every other row.
  const int64_t shape[] = {2, 96};
  const int64_t strides[] = {192, 1};
  const TensorView strided(x.view().base(), ScalarType::bf16, shape, Device::cpu(), strides);
  EXPECT_ERROR_MENTIONS(linear.forward_into(strided, Tensor::empty(ScalarType::bf16, {2, 48}), bias), "x bf16[2, 96] cpu must be contiguous");
  // Misaligned x.
  Tensor raw = Tensor::empty(ScalarType::uint8, {2 * 4 * 96 + 1});
  const TensorView misaligned(static_cast<char*>(raw.data()) + 1, ScalarType::bf16, {4, 96});
  EXPECT_ERROR_MENTIONS(linear.forward_into(misaligned, out, bias), "not aligned");
  // 3-D x works like [rows, K].
  const Tensor x3 = random_activations(ScalarType::bf16, std::array<int64_t, 3>{2, 2, 96}, 3);
  const Tensor y3 = linear.forward(x3, bias);
  EXPECT_EQ(y3.size(0), 2);
  EXPECT_EQ(y3.size(2), 48);
}

TEST(Linear, CallerTensorsAreNotModifiedEvenOnError) {
  const LayerConfig c = default_config(Family::fp8_block, 72, 136);
  const RandomLayer layer = make_random_layer(c, 5);
  const std::vector<uint8_t> before(layer.weight.data_as<uint8_t>(), layer.weight.data_as<uint8_t>() + layer.weight.nbytes());
  const QuantizedLinear linear(c, layer.weights());
  const Tensor x = random_activations(ScalarType::bf16, std::array<int64_t, 2>{3, 136}, 6);
  const std::vector<uint8_t> x_before(x.data_as<uint8_t>(), x.data_as<uint8_t>() + x.nbytes());
  Tensor out = Tensor::empty(ScalarType::bf16, {3, 72});
  linear.forward_into(x, out);
  Tensor wrong_out = Tensor::empty(ScalarType::bf16, {3, 71});
  std::memset(wrong_out.data(), 0x5a, static_cast<size_t>(wrong_out.nbytes()));
  EXPECT_THROW(linear.forward_into(x, wrong_out), Error);
  EXPECT_EQ(wrong_out.data_as<uint8_t>()[0], 0x5a);
  EXPECT_EQ(0, std::memcmp(before.data(), layer.weight.data(), before.size()));
  EXPECT_EQ(0, std::memcmp(x_before.data(), x.data(), x_before.size()));
}

TEST(Linear, SeveralThreadsGiveTheSameResultAsOne) {
  const LayerConfig c = default_config(Family::int8_scaled_mm, 40, 64);
  const RandomLayer layer = make_random_layer(c, 7);
  const QuantizedLinear linear(c, layer.weights());
  const Tensor x = random_activations(ScalarType::bf16, std::array<int64_t, 2>{5, 64}, 8);
  const Tensor alone = linear.forward(x);
  std::vector<Tensor> outs(4);
  std::vector<std::thread> threads;
  for (auto& o : outs) threads.emplace_back([&] { o = linear.forward(x); });
  for (auto& t : threads) t.join();
  for (const auto& o : outs) EXPECT_EQ(0, std::memcmp(o.data(), alone.data(), static_cast<size_t>(alone.nbytes())));
}

}  // namespace
}  // namespace qlinear
