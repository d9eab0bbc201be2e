// GPTQ layers loaded with their codes as stored (load_layer with Codes::as_stored: a view of the
// mapped qweight words, core/code_words.hpp) serve exactly as the canonical ones: the words'
// canonical copy is the canonical load byte for byte, and every cpu kernel this host runs (the
// dequant kernels, which pack the words in one pass, or a gathered position at a time under act
// order, and the others, which QuantizedLinear hands the canonical copy) gives bit-identical
// outputs for both, for every GPTQ variant (4 / 8 bits, zero points, act order, v1 / v2), shapes on
// and off the 16-column tile and 128-group grid, and tensor-parallel parts of both splits (a column
// part is a window of the words whose rows of words are longer than its N).
#include "core/code_words.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "checkpoint/random_checkpoints.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/reference.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::checkpoint {
namespace {

using testing::Format;
using testing::kLayer;

std::filesystem::path folder(const std::string& name) {
  return std::filesystem::temp_directory_path() / cat("qlinear_code_words_", getpid(), "_", name);
}

// x [3, K] of the layer's activation type, random values in [-2, 2).
Tensor random_x(const LayerConfig& c, uint32_t seed) {
  Tensor x = Tensor::empty(c.act_type, {3, c.part_k()});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> value(-2, 2);
  for (int64_t i = 0; i < x.numel(); ++i) store_value(x, i, value(rng));
  return x;
}

// Every kernel of the layer's family that runs on this host's CPU and can implement it.
std::vector<const Kernel*> cpu_kernels(const LayerConfig& c) {
  std::vector<const Kernel*> kernels;
  for (const Kernel* k : Registry::global().kernels(PlatformKind::cpu))
    if (k->family() == c.family && k->supported(host_platform()) && k->can_implement(c))
      kernels.push_back(k);
  return kernels;
}

// Shapes on and off the grids: N = 40 and 200 leave a partial 16-column tile, K = 320 a partial
// 128-group (per-word splits of it are refused as split_layer refuses them).
constexpr std::array<std::pair<int64_t, int64_t>, 4> kShapes{
    {{48, 768}, {40, 1536}, {200, 1536}, {512, 320}}};

TEST(CodeWords, AsStoredServesAsTheCanonicalCodes) {
  uint64_t seed = 1;
  int from_words = 0;  // parts whose weight was a view of the words
  for (const Format& format : testing::all_formats()) {
    if (!format.name.starts_with("gptq")) continue;
    for (const auto& [n, k] : kShapes) {
      if (!format.fits(n, k)) continue;
      const auto dir = folder(format.name);
      testing::write_checkpoint(dir, format, testing::random_files(format, n, k, seed++));
      const Checkpoint checkpoint = Checkpoint::open(dir.string());
      for (Split split : {Split::columns, Split::rows})
        for (int size : {1, 2, 4})
          for (int rank = 0; rank<size; rank += size - 1> 0 ? size - 1 : 1) {
            const std::string what =
                cat(format.name, " [", n, ", ", k, "] ", name(split), " ", rank, "/", size);
            const TensorParallel tp{split, rank, size};
            CheckpointLayer canonical;
            try {
              canonical = load_layer(checkpoint, kLayer, tp);
            } catch (const Error&) {
              continue;  // a split the layer cannot take (shard_load_test checks the refusals)
            }
            const CheckpointLayer stored = load_layer(checkpoint, kLayer, tp, Codes::as_stored);
            const auto words = detail::code_words(stored.weight);
            if (words) {
              ++from_words;
              const Tensor copy = detail::canonical_codes(*words, stored.weight.dtype());
              ASSERT_EQ(copy.view().describe(), canonical.weight.view().describe()) << what;
              ASSERT_EQ(std::memcmp(copy.data(), canonical.weight.data(),
                                    static_cast<size_t>(copy.nbytes())),
                        0)
                  << what;
            }
            const LayerConfig& c = canonical.config;
            const Tensor x = random_x(c, static_cast<uint32_t>(seed));
            for (const Kernel* kernel : cpu_kernels(c)) {
              const QuantizedLinear want(c, canonical.weights(), *kernel, Device::cpu());
              const QuantizedLinear got(c, stored.weights(), *kernel, Device::cpu());
              const Tensor y_want = want.forward(x, canonical.bias);
              const Tensor y_got = got.forward(x, stored.bias);
              EXPECT_EQ(
                  std::memcmp(y_got.data(), y_want.data(), static_cast<size_t>(y_want.nbytes())), 0)
                  << what << ", kernel " << kernel->name();
            }
          }
      std::filesystem::remove_all(dir);
    }
  }
  EXPECT_GT(from_words, 0) << "no layer was loaded as a view of its words";
}

// The 16-bit float tensors of `files` (scales, bias) made finite, in [2^-7, 2): random bytes hold
// NaN and inf, which leave most columns' outputs NaN and a comparison with the oracle blind there.
void make_floats_finite(testing::Files& files) {
  for (size_t t = 0; t < files.specs.size(); ++t) {
    const Dtype type = files.specs[t].dtype;
    if (type != Dtype::F16 && type != Dtype::BF16) continue;
    const int shift = type == Dtype::F16 ? 10 : 7, bias = type == Dtype::F16 ? 15 : 127;
    const auto sign_and_mantissa = static_cast<uint16_t>(0x8000u | ((1u << shift) - 1u));
    std::vector<std::byte>& bytes = files.bytes[t];
    for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
      uint16_t bits;
      std::memcpy(&bits, &bytes[i], 2);
      const auto exponent = static_cast<uint16_t>(bias - 7 + (bits >> shift) % 8);
      bits = static_cast<uint16_t>((bits & sign_and_mantissa) | exponent << shift);
      std::memcpy(&bytes[i], &bits, 2);
    }
  }
}

// A layer whose packing the dequant kernels share out over the threads in two blocks of tiles
// (about 2 MiB of packed bytes each, mixed_precision.cpp), the last tile partial: every cpu
// kernel, from the words and from the canonical codes, bit for bit alike and within its tolerance
// of the oracle, for every GPTQ variant (zero points make the packed segments lines apart, so
// both the streamed and the plain stores run).
TEST(CodeWords, LayersPackedInTwoBlocksMatchTheOracle) {
  constexpr int64_t n = 1000, k = 4096;  // 63 tiles, the last of 8 columns; 61 tiles a block
  uint64_t seed = 100;
  for (const Format& format : testing::all_formats()) {
    if (!format.name.starts_with("gptq") || !format.fits(n, k)) continue;
    const auto dir = folder(format.name + "_blocks");
    testing::Files files = testing::random_files(format, n, k, seed++);
    make_floats_finite(files);
    testing::write_checkpoint(dir, format, files);
    const Checkpoint checkpoint = Checkpoint::open(dir.string());
    const CheckpointLayer canonical = load_layer(checkpoint, kLayer);
    const CheckpointLayer stored =
        load_layer(checkpoint, kLayer, {Split::columns, 0, 1}, Codes::as_stored);
    const LayerConfig& c = canonical.config;
    const Tensor x = random_x(c, static_cast<uint32_t>(seed));
    const int64_t m = x.size(0);
    const std::vector<double> w_hat = reference::dequantize_weights(c, canonical.weights());
    const std::vector<double> x_hat = reference::activations_as_used(c, canonical.weights(), x);
    const std::vector<double> want = reference::linear_f64(x_hat, w_hat, m, n, k, canonical.bias);
    const std::vector<double> terms =
        reference::magnitude_f64(x_hat, w_hat, m, n, k, canonical.bias);
    for (const Kernel* kernel : cpu_kernels(c)) {
      const Tensor y = QuantizedLinear(c, stored.weights(), *kernel).forward(x, stored.bias);
      const Tensor y_canonical =
          QuantizedLinear(c, canonical.weights(), *kernel).forward(x, canonical.bias);
      ASSERT_EQ(std::memcmp(y.data(), y_canonical.data(), static_cast<size_t>(y.nbytes())), 0)
          << format.name << ", kernel " << kernel->name();
      for (int64_t i = 0; i < m * n; ++i)
        ASSERT_LE(std::fabs(load_value(y, i) - want[i]), kernel->tolerance(c) * terms[i])
            << format.name << ", kernel " << kernel->name() << ": row " << i / n << ", column "
            << i % n;
    }
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace qlinear::checkpoint
