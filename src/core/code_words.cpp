// Codes in words (see code_words.hpp).
#include "core/code_words.hpp"

#include <array>

#include "core/transpose_tiles.hpp"
#include "qlinear/error.hpp"

namespace qlinear::detail {

std::optional<CodeWords> code_words(const TensorView& weight) {
  const int bits = info(weight.dtype()).bits;
  if ((bits != 4 && bits != 8) || weight.ndim() != 3 || !weight.device().is_cpu())
    return std::nullopt;
  const int64_t b = 32 / bits;
  const int64_t n = weight.size(0), row_stride = weight.stride(1);
  const bool words = weight.size(2) == b && weight.stride(2) == 1 && weight.stride(0) == b &&
                     row_stride % b == 0 && row_stride / b >= n &&
                     reinterpret_cast<uintptr_t>(weight.data()) % 4 == 0;
  if (!words) return std::nullopt;
  return CodeWords{static_cast<const std::byte*>(weight.data()), n, weight.size(1) * b,
                   row_stride / b, bits};
}

TensorView code_words_view(const CodeWords& words, ScalarType type) {
  require(info(type).bits == words.bits, "code words of ", words.bits, " bits cannot hold ",
          name(type));
  const int64_t b = words.per_word();
  const std::array<int64_t, 3> shape{words.n, words.k / b, b}, strides{b, b * words.row_words, 1};
  return TensorView(const_cast<std::byte*>(words.words), type, shape, Device::cpu(), strides);
}

Tensor canonical_codes(const CodeWords& words, ScalarType type) {
  Tensor t = Tensor::empty(type, {words.n, words.k}, Device::cpu(), Lifetime::layer);
  const int64_t word_rows = words.k / words.per_word();
  transpose_tiles<uint32_t>(words.words, word_rows, words.n, words.row_words,
                            static_cast<std::byte*>(t.data()), word_rows);
  return t;
}

}  // namespace qlinear::detail
