// Bounded, duplicate-free JSON parsing (see json_input.hpp).
#include "checkpoint/json_input.hpp"

#include <set>
#include <vector>

#include "qlinear/error.hpp"
#include "qlinear/files.hpp"

namespace qlinear::checkpoint {

nlohmann::json parse_json(std::string_view text, const std::string& where) {
  using json = nlohmann::json;
  // The keys seen so far in each object that is open, innermost last.
  std::vector<std::set<std::string, std::less<>>> open_objects;
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        require(depth < kMaxJsonDepth, where, ": JSON nests deeper than ", kMaxJsonDepth,
                " levels");
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        require(open_objects.back().insert(key).second, where, ": key \"", key,
                "\" appears twice in one object");
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const json::exception& e) {
    throw Error(cat(where, ": not valid JSON (", e.what(), ")"));
  }
}

nlohmann::json read_json_file(const std::string& path) {
  return parse_json(InputFile(path, kMaxJsonFileBytes).read_all(), path);
}

}  // namespace qlinear::checkpoint
