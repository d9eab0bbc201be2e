// `qlinear tune`: every kernel that can run each layer timed at token buckets on a device of this
// machine, and the fastest plan per layer written as a tuning table (qlinear/tuning.hpp) that
// selection then follows on this device (QLINEAR_TUNING=FILE, or shipped in tuning/).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "config_flags.hpp"
#include "layer_set.hpp"
#include "qlinear/bench.hpp"
#include "qlinear/error.hpp"
#include "qlinear/files.hpp"

namespace qlinear::tool {
namespace {

// Token buckets 1, 2, 4, ... up to `last`.
std::vector<int64_t> powers_of_two(int64_t last) {
  std::vector<int64_t> m;
  for (int64_t v = 1; v <= last; v *= 2) m.push_back(v);
  return m;
}

// In full or not at all: a failed write leaves an existing table as it was.
void write_table(const TuningTable& table, const std::string& path) {
  ReplacingWriter out(path);
  const std::string text = table.to_json() + "\n";
  out.write(text.data(), text.size());
  out.commit();
}

// A layer's times per bucket, its plan, and where the layer's time went (the device's tuning run
// must fit one call).
void print_layer(const LayerConfig& c, const TunedEntry& e, const bench::Run& run) {
  std::printf("-- %s\n", c.describe().c_str());
  for (const auto& [m, times] : e.times_us) {
    std::printf("  M %5lld:", static_cast<long long>(m));
    for (const auto& [kernel, us] : times) std::printf("  %s %.1f us", kernel.c_str(), us);
    std::printf("\n");
  }
  int64_t above = 0;
  for (size_t i = 0; i < e.plan.size(); ++i) {
    const std::string range = i + 1 < e.plan.size() ? cat("M <= ", e.plan[i].max_m)
                              : above > 0           ? cat("M > ", above)
                                                    : std::string("every M");
    std::printf("  plan: %s: %s\n", range.c_str(), e.plan[i].kernel.c_str());
    above = e.plan[i].max_m;
  }
  std::printf("  took %.1f s: making the layer %.1f s, preparing the weight copies %.1f s\n",
              run.total_s, run.make_layers_s, run.prepare_s);
  std::fflush(stdout);
}

}  // namespace

void add_tune(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "tune", "time every kernel per layer at token buckets and write the fastest plans");
  static ConfigFlags flags;
  static std::string device_text = "default", preset_name, out_path, merge_path, replan_path, note;
  static std::vector<std::string> shapes;
  static std::vector<int64_t> m_values;
  static int reps = 10, warmup = 2;
  static int64_t rotate_mib = 256;
  static double prune_ratio = 4, case_seconds = 0.5;
  static bool resume = false;
  flags.add_to(*command);
  command->add_option("--device", device_text,
                      "cpu, cuda, cuda:N or default (the GPU if there is one)");
  command->add_option("--preset", preset_name, "real layers: llama3-8b, llama3-70b-tp8");
  command->add_option("--nk", shapes, "layer shapes NxK (default: --n x --k)");
  command->add_option("--m", m_values,
                      "token buckets (default 1 2 4 ... 8192 on a GPU, ... 256 on the CPU)");
  command->add_option("--reps", reps, "timed calls per kernel and bucket (default 10)");
  command->add_option("--warmup", warmup, "untimed calls before them (default 2)");
  command->add_option("--rotate-mib", rotate_mib,
                      "weight copies rotated over, MiB per kernel (default 256; 0: none)");
  command->add_option("--prune", prune_ratio,
                      "stop timing a kernel once it is this many times slower than the fastest "
                      "(default 4; 0: never)");
  command->add_option("--case-seconds", case_seconds,
                      "timed seconds per kernel and bucket: a kernel whose calls took longer at "
                      "the bucket before makes fewer of them, at least 3 (default 0.5; 0: --reps)");
  command->add_option("--out", out_path, "the table to write (JSON)")->required();
  command->add_option("--merge", merge_path,
                      "a table of this device whose other layers the new one keeps");
  command->add_option("--note", note, "a note on the run, kept in the table");
  command->add_flag("--resume", resume,
                    "time only the layers --out does not hold yet (a run cut short: the table is "
                    "written after every layer)");
  command->add_option("--replan", replan_path,
                      "time nothing: make each layer's plan again from this table's measured "
                      "times (after a change to how plans are made) and write it to --out");
  command->callback([command, &exit_code] {
    if (!replan_path.empty()) {
      const auto measured = TuningTable::load(replan_path);
      TuningTable table(measured->device(), out_path);
      table.set_note(cat(measured->note(), "; plans made again ", utc_now()));
      for (TunedEntry e : measured->entries()) {
        e.plan = fastest_plan(e.times_us);
        table.add(std::move(e));
      }
      write_table(table, out_path);
      std::printf("made %zu plans again into %s\n", table.entries().size(), out_path.c_str());
      exit_code = 0;
      return;
    }
    if (device_text.starts_with("cuda")) (void)bench::make_bench_device(Device::parse(device_text));
    const Platform platform = target_platform(device_text);
    require(platform.detected, "tune needs a device of this machine; '", device_text,
            "' is a named target");
    const LayerSet layers =
        layer_set(flags, command->count("--family") > 0, preset_name, shapes, {}, platform);
    for (const std::string& s : layers.skipped) std::printf("skipped: %s\n", s.c_str());

    bench::Options options;
    options.device = platform.device();
    options.configs = layers.configs;
    options.m_values = m_values.empty()
                           ? powers_of_two(platform.kind == PlatformKind::cpu ? 256 : 8192)
                           : m_values;
    options.reps = reps;
    options.warmup = warmup;
    options.rotate_bytes = rotate_mib << 20;
    options.prune_ratio = prune_ratio;
    options.seconds_per_case = case_seconds;
    std::shared_ptr<const TuningTable> merged;
    if (!merge_path.empty()) {
      merged = TuningTable::load(merge_path);
      require(merged->device() == tuned_device(platform), "--merge '", merge_path,
              "': measured on ", describe(merged->device()), ", not on this device (",
              describe(tuned_device(platform)), ")");
    }

    // What --out holds so far: tune adds each layer as it is timed and it is written again then, so
    // that a run cut short keeps the layers it finished and --resume goes on from there.
    TuningTable written(tuned_device(platform), out_path);
    if (resume && std::filesystem::exists(out_path)) {
      const auto done = TuningTable::load(out_path);
      require(done->device() == written.device(), "--resume: '", out_path, "' was measured on ",
              describe(done->device()), ", not on this device (", describe(written.device()), ")");
      for (const TunedEntry& e : done->entries()) written.add(e);
      std::erase_if(options.configs,
                    [&](const LayerConfig& c) { return written.find(c) != nullptr; });
      std::printf("resuming: %zu layers in %s, %zu to time\n", written.entries().size(),
                  out_path.c_str(), options.configs.size());
    }
    // The merged table's layers from the start, so that every write holds them; a layer timed in
    // this run replaces its entry.
    if (merged)
      for (const TunedEntry& e : merged->entries())
        if (std::none_of(written.entries().begin(), written.entries().end(),
                         [&](const TunedEntry& mine) { return mine.key == e.key; }))
          written.add(e);
    written.set_note(cat("qlinear tune ", utc_now(), note.empty() ? "" : cat(": ", note)));

    std::printf("qlinear tune on %s: %s\n", platform.str().c_str(),
                describe(tuned_device(platform)).c_str());
    bench::tune(options, written,
                [&written](const LayerConfig& c, const TunedEntry& e, const bench::Run& run) {
                  print_layer(c, e, run);
                  write_table(written, out_path);
                });
    write_table(written, out_path);
    std::printf("wrote %zu layers to %s\n", written.entries().size(), out_path.c_str());
    exit_code = written.entries().empty() ? 1 : 0;
  });
}

}  // namespace qlinear::tool
