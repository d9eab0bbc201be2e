// A layer's [N, K] 4- or 8-bit codes in 32-bit words along K, as GPTQ's qweight stores them
// (LayerWeights::weight, qlinear/kernel.hpp). A load that hands the kernel these words from the
// mapped checkpoint, where the kernel packs from them (Kernel::takes_code_words), skips the
// canonical copy: one write of every code byte and a fresh buffer for it.
//
//   word (i, n) at words + 4·(i·S + n): codes k = i·b .. i·b + b - 1 of row n, low bits first
//   (b = 32 / bits codes a word; S >= N words from one row of words to the next)
//
// As a view of codes that is [N, K / b, b] with strides [b, b·S, 1]: code (n, k) of the canonical
// [N, K] at code offset (k / b)·b·S + n·b + k % b.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "qlinear/tensor.hpp"

namespace qlinear::detail {

struct CodeWords {
  const std::byte* words;  // word (0, 0)
  int64_t n, k;            // the codes' shape
  int64_t row_words;       // S
  int bits;                // 4 or 8
  int64_t per_word() const { return 32 / bits; }
};

// The words behind `weight` when it is a CPU view in that form, else nullopt (a contiguous
// [N, K] tensor, or anything else).
std::optional<CodeWords> code_words(const TensorView& weight);
// `words` as the view of codes of `type` (4 or 8 bits) that LayerWeights::weight takes.
TensorView code_words_view(const CodeWords& words, ScalarType type);
// The canonical [N, K] codes of `type`, contiguous: the words transposed.
Tensor canonical_codes(const CodeWords& words, ScalarType type);

}  // namespace qlinear::detail
