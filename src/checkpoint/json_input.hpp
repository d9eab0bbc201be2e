// JSON from files and headers a user gives. nlohmann's dump, copy and comparison recurse once per
// level, so nesting is bounded when parsing; and an object may not hold a key twice (nlohmann
// would silently keep the last, the safetensors format forbids duplicate tensor names, and a
// config whose `bits` appears twice means two things).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace qlinear::checkpoint {

// Deeper than any config or header a quantization tool writes (they nest fewer than 10 levels).
constexpr int kMaxJsonDepth = 64;
// config.json, hf_quant_config.json and model.safetensors.index.json of the largest models are a
// few MiB.
constexpr int64_t kMaxJsonFileBytes = int64_t{64} << 20;

// Throws qlinear::Error naming `where` for text that is not JSON, nests deeper than kMaxJsonDepth
// or repeats a key in one object.
nlohmann::json parse_json(std::string_view text, const std::string& where);
// parse_json of a regular file of at most kMaxJsonFileBytes.
nlohmann::json read_json_file(const std::string& path);

}  // namespace qlinear::checkpoint
