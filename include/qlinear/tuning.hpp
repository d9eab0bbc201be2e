// Measured tuning tables (`qlinear tune`): for one device, the fastest plan of kernels by token
// count for each layer config, and the times it was chosen from. Selection uses a table that
// matches the platform and has the config (registry.hpp); a table that cannot be used — corrupt,
// of another version, for another device, naming a kernel that is unknown or cannot run the
// config — is reported in the choice and the priority list decides.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qlinear/config.hpp"
#include "qlinear/kernel.hpp"
#include "qlinear/platform.hpp"

namespace qlinear {

// The device a table was measured on: the platform ("cuda:sm_90a", "cpu:avx512_vnni"), the
// device's name (GPU name or CPU brand) and its parallelism (SMs or logical cores). A table
// applies to a platform with all three equal; named targets (not detected) have no name.
struct TunedDevice {
  std::string platform, name;
  int units = 0;
  bool operator==(const TunedDevice&) const = default;
};
TunedDevice tuned_device(const Platform& platform);
std::string describe(const TunedDevice& device);

// A config's key in a table: LayerConfig::describe() with the weight scales' type.
std::string tuning_key(const LayerConfig& config);

struct TunedPart {
  std::string kernel;
  int64_t max_m = 0;  // the last part: no limit
};

struct TunedEntry {
  std::string key;              // tuning_key(config)
  std::vector<TunedPart> plan;  // token limits increasing; the last part takes every larger call
  // Median microseconds of each kernel timed at each measured M (what the plan was chosen from).
  std::map<int64_t, std::map<std::string, double>> times_us;
};

class TuningTable {
 public:
  // The format's version; a table of another version is refused with both numbers.
  static constexpr int kVersion = 1;

  TuningTable(TunedDevice device, std::string source);
  // Parses a table's JSON text; throws qlinear::Error naming `source`, the field and what was
  // expected on anything malformed.
  static std::shared_ptr<const TuningTable> parse(std::string_view text, std::string source);
  // Reads and parses a file (a regular file of at most 64 MiB, qlinear/files.hpp).
  static std::shared_ptr<const TuningTable> load(const std::string& path);

  const TunedDevice& device() const { return device_; }
  const std::string& source() const { return source_; }
  const std::string& note() const { return note_; }
  void set_note(std::string note) { note_ = std::move(note); }
  const std::vector<TunedEntry>& entries() const { return entries_; }
  // Adds or replaces the entry of its key; checks the plan's shape.
  void add(TunedEntry entry);
  // The entry for `config`, or null.
  const TunedEntry* find(const LayerConfig& config) const;
  std::string to_json() const;

 private:
  TunedDevice device_;
  std::string source_, note_;
  std::vector<TunedEntry> entries_;
};

// The fastest kernel at each measured M, merged into parts: a kernel that wins at consecutive M
// values runs up to the last of them; the last part takes every larger call. Going down from the
// largest M, a kernel gives way only to one faster by more than `margin` (0.03: 3 %), so that
// timing noise between near-equal kernels does not split the plan.
std::vector<TunedPart> fastest_plan(
    const std::map<int64_t, std::map<std::string, double>>& times_us, double margin = 0.03);

// The tables that ship with the library (tuning/*.json in the source tree, built in), each for
// the device it names.
const std::vector<std::shared_ptr<const TuningTable>>& shipped_tuning_tables();

}  // namespace qlinear
