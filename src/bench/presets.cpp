// Layer shapes of real models, for `qlinear bench --preset`.
#include <charconv>

#include "qlinear/bench.hpp"
#include "qlinear/error.hpp"

namespace qlinear::bench {
namespace {

// A decoder layer's four linear layers from the model's dimensions, split over `tp` ranks the
// way tensor parallelism splits them: qkv and gate_up by output columns (N), o and down by
// input rows (K).
std::vector<Shape> decoder_layers(int64_t hidden, int64_t intermediate, int64_t heads,
                                  int64_t kv_heads, int64_t head_dim, int64_t tp) {
  const int64_t qkv = (heads + 2 * kv_heads) * head_dim;
  return {
      {"qkv", qkv, hidden, tp > 1 ? qkv / tp : 0, 0},
      {"o", hidden, heads * head_dim, 0, tp > 1 ? heads * head_dim / tp : 0},
      {"gate_up", 2 * intermediate, hidden, tp > 1 ? 2 * intermediate / tp : 0, 0},
      {"down", hidden, intermediate, 0, tp > 1 ? intermediate / tp : 0},
  };
}

}  // namespace

std::vector<std::string> preset_names() { return {"llama3-8b", "llama3-70b-tp8"}; }

std::vector<Shape> preset(std::string_view name) {
  // Llama 3 8B: hidden 4096, intermediate 14336, 32 heads, 8 KV heads of 128.
  if (name == "llama3-8b") return decoder_layers(4096, 14336, 32, 8, 128, 1);
  // Llama 3 70B: hidden 8192, intermediate 28672, 64 heads, 8 KV heads of 128; 8 ranks.
  if (name == "llama3-70b-tp8") return decoder_layers(8192, 28672, 64, 8, 128, 8);
  throw Error(cat("unknown preset '", name, "'; known: llama3-8b, llama3-70b-tp8"));
}

Shape parse_shape(std::string_view text) {
  const auto x = text.find('x');
  int64_t n = 0, k = 0;
  const bool ok = x != std::string_view::npos &&
                  std::from_chars(text.data(), text.data() + x, n).ptr == text.data() + x &&
                  std::from_chars(text.data() + x + 1, text.data() + text.size(), k).ptr ==
                      text.data() + text.size() &&
                  n > 0 && k > 0;
  require(ok, "shape '", text, "': expected NxK with positive integers, e.g. 4096x14336");
  return {std::string(text), n, k, 0, 0};
}

}  // namespace qlinear::bench
