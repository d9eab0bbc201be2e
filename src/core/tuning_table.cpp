
#include <algorithm>
#include <charconv>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>

#include "checkpoint/json_input.hpp"
#include "qlinear/error.hpp"
#include "qlinear/files.hpp"
#include "qlinear/tuning.hpp"

namespace qlinear {
namespace detail {
// Generated from tuning/*.json by the build (src/CMakeLists.txt): {file name, JSON text}.
std::vector<std::pair<std::string_view, std::string_view>> shipped_tuning_texts();
}  // namespace detail

namespace {

using json = nlohmann::json;

constexpr int64_t kMaxTableBytes = int64_t{64} << 20;
constexpr char kVersionField[] = "qlinear_tuning_version";

// The value of `key` in `object` as type T, or an error naming the table, where and what.
template <typename T>
T field(const json& object, const char* key, const std::string& where, const std::string& source) {
  require(object.is_object() && object.contains(key), "tuning table ", source, ": ", where,
          " has no field '", key, "'");
  const json& value = object.at(key);
  if constexpr (std::is_same_v<T, std::string>) {
    require(value.is_string(), "tuning table ", source, ": ", where, ".", key, " must be a string");
    return value.get<std::string>();
  } else if constexpr (std::is_same_v<T, double>) {
    require(value.is_number(), "tuning table ", source, ": ", where, ".", key, " must be a number");
    return value.get<double>();
  } else {
    require(value.is_number_integer(), "tuning table ", source, ": ", where, ".", key,
            " must be an integer");
    if (value.is_number_unsigned())
      require(value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max()),
              "tuning table ", source, ": ", where, ".", key, " (", value.dump(),
              ") is out of range");
    const auto v = value.get<int64_t>();
    require(v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max(),
            "tuning table ", source, ": ", where, ".", key, " (", v, ") is out of range");
    return static_cast<T>(v);
  }
}

// The plan's shape: at least one part, named kernels, token limits >= 1 and increasing.
void check_plan(const std::vector<TunedPart>& plan, const std::string& where) {
  require(!plan.empty(), where, ": the plan has no parts");
  for (size_t i = 0; i < plan.size(); ++i) {
    require(!plan[i].kernel.empty(), where, ": part ", i, " names no kernel");
    if (i + 1 == plan.size()) break;
    require(plan[i].max_m >= 1, where, ": part ", plan[i].kernel, " has token limit ",
            plan[i].max_m, "; expected at least 1");
    require(i == 0 || plan[i].max_m > plan[i - 1].max_m, where,
            ": token limits must increase; part ", plan[i].kernel, " has ", plan[i].max_m,
            " after ", plan[i - 1].max_m);
  }
}

}  // namespace

TunedDevice tuned_device(const Platform& platform) {
  TunedDevice d;
  if (!platform.detected) return d;  // a named target is no device
  d.platform = platform.str();
  d.name = platform.kind == PlatformKind::cpu ? platform.cpu.brand : platform.device_name;
  d.units = platform.kind == PlatformKind::cpu ? platform.cpu.cores : platform.sm_count;
  return d;
}

std::string describe(const TunedDevice& d) {
  if (d.platform.empty()) return "a named target (no device)";
  return cat(d.platform, " '", d.name, "' with ", d.units,
             d.platform.starts_with("cpu") ? " logical cores" : " SMs");
}

std::string tuning_key(const LayerConfig& config) {
  return cat(config.describe(), " scales ", name(config.weight_scale_type));
}

TuningTable::TuningTable(TunedDevice device, std::string source)
    : device_(std::move(device)), source_(std::move(source)) {}

void TuningTable::add(TunedEntry entry) {
  check_plan(entry.plan, cat("tuning table ", source_, ": entry '", entry.key, "'"));
  for (TunedEntry& e : entries_)
    if (e.key == entry.key) {
      e = std::move(entry);
      return;
    }
  entries_.push_back(std::move(entry));
}

const TunedEntry* TuningTable::find(const LayerConfig& config) const {
  const std::string key = tuning_key(config);
  for (const TunedEntry& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

std::shared_ptr<const TuningTable> TuningTable::parse(std::string_view text, std::string source) {
  // Bounded nesting, no key twice in an object (checkpoint/json_input.hpp).
  const json doc = checkpoint::parse_json(text, cat("tuning table ", source));
  require(doc.is_object(), "tuning table ", source, ": expected a JSON object at the top");
  require(doc.contains(kVersionField), "tuning table ", source, ": no '", kVersionField,
          "' field: not a qlinear tuning table");
  const int version = field<int>(doc, kVersionField, "the table", source);
  require(version == kVersion, "tuning table ", source, ": version ", version,
          "; this qlinear reads version ", kVersion, " (run `qlinear tune` again)");
  const json& d = doc.contains("device") ? doc.at("device") : json();
  TunedDevice device{field<std::string>(d, "platform", "device", source),
                     field<std::string>(d, "name", "device", source),
                     field<int>(d, "units", "device", source)};
  auto table = std::make_shared<TuningTable>(std::move(device), source);
  if (doc.contains("note")) table->note_ = field<std::string>(doc, "note", "the table", source);
  require(doc.contains("entries") && doc.at("entries").is_array(), "tuning table ", source,
          ": 'entries' must be an array");
  for (const json& e : doc.at("entries")) {
    TunedEntry entry;
    entry.key = field<std::string>(e, "config", "an entry", source);
    const std::string where = cat("entry '", entry.key, "'");
    require(e.contains("plan") && e.at("plan").is_array(), "tuning table ", source, ": ", where,
            ": 'plan' must be an array");
    const json& plan = e.at("plan");
    for (size_t i = 0; i < plan.size(); ++i) {
      TunedPart part{field<std::string>(plan[i], "kernel", cat(where, ".plan[", i, "]"), source)};
      const bool last = i + 1 == plan.size();
      require(last != plan[i].contains("max_m"), "tuning table ", source, ": ", where, ".plan[", i,
              "]: ",
              last ? "the last part takes every larger call and has no max_m"
                   : "every part but the last needs max_m");
      if (!last)
        part.max_m = field<int64_t>(plan[i], "max_m", cat(where, ".plan[", i, "]"), source);
      entry.plan.push_back(std::move(part));
    }
    if (e.contains("times_us")) {
      const json& times = e.at("times_us");
      require(times.is_object(), "tuning table ", source, ": ", where,
              ".times_us must be an object");
      for (const auto& [m_text, kernels] : times.items()) {
        int64_t m = 0;
        const auto [end, ec] = std::from_chars(m_text.data(), m_text.data() + m_text.size(), m);
        require(ec == std::errc() && end == m_text.data() + m_text.size() && m >= 1,
                "tuning table ", source, ": ", where, ".times_us: key '", m_text,
                "' is not a token count");
        require(kernels.is_object(), "tuning table ", source, ": ", where, ".times_us.", m_text,
                " must be an object");
        for (const auto& [kernel, us] : kernels.items()) {
          require(us.is_number() && us.get<double>() >= 0, "tuning table ", source, ": ", where,
                  ".times_us.", m_text, ".", kernel, " must be a time in microseconds");
          entry.times_us[m][kernel] = us.get<double>();
        }
      }
    }
    table->add(std::move(entry));
  }
  return table;
}

std::shared_ptr<const TuningTable> TuningTable::load(const std::string& path) {
  std::string text;
  try {
    text = InputFile(path, kMaxTableBytes).read_all();
  } catch (const Error& e) {  // names the file and what is wrong with it
    throw Error(cat("tuning table ", e.what()));
  }
  return parse(text, path);
}

std::string TuningTable::to_json() const {
  json entries = json::array();
  for (const TunedEntry& e : entries_) {
    json plan = json::array();
    for (size_t i = 0; i < e.plan.size(); ++i) {
      json part{{"kernel", e.plan[i].kernel}};
      if (i + 1 < e.plan.size()) part["max_m"] = e.plan[i].max_m;
      plan.push_back(part);
    }
    json times = json::object();
    for (const auto& [m, kernels] : e.times_us) times[std::to_string(m)] = kernels;
    entries.push_back({{"config", e.key}, {"plan", plan}, {"times_us", times}});
  }
  return json{{kVersionField, kVersion},
              {"device",
               {{"platform", device_.platform}, {"name", device_.name}, {"units", device_.units}}},
              {"note", note_},
              {"entries", entries}}
      .dump(1);
}

std::vector<TunedPart> fastest_plan(
    const std::map<int64_t, std::map<std::string, double>>& times_us, double margin) {
  // From the largest M down, the kernel of the M above stays unless another is faster by more
  // than the margin (timing noise does not split a plan); then runs of one kernel merge.
  std::vector<std::pair<int64_t, std::string>> winners;  // largest M first
  std::string current;
  for (auto it = times_us.rbegin(); it != times_us.rend(); ++it) {
    const auto& kernels = it->second;
    if (kernels.empty()) continue;
    const auto best = std::min_element(kernels.begin(), kernels.end(),
                                       [](auto& a, auto& b) { return a.second < b.second; });
    const auto kept = kernels.find(current);
    if (kept == kernels.end() || best->second * (1 + margin) < kept->second) current = best->first;
    winners.emplace_back(it->first, current);
  }
  std::vector<TunedPart> plan;
  for (auto it = winners.rbegin(); it != winners.rend(); ++it) {
    if (!plan.empty() && plan.back().kernel == it->second)
      plan.back().max_m = it->first;
    else
      plan.push_back({it->second, it->first});
  }
  return plan;
}

const std::vector<std::shared_ptr<const TuningTable>>& shipped_tuning_tables() {
  static const std::vector<std::shared_ptr<const TuningTable>> tables = [] {
    std::vector<std::shared_ptr<const TuningTable>> list;
    for (const auto& [file, text] : detail::shipped_tuning_texts())
      list.push_back(TuningTable::parse(text, std::string(file)));
    return list;
  }();
  return tables;
}

}  // namespace qlinear
