// `qlinear bench`: kernels timed on layer shapes against the device's peers, with the floors of
// this machine next to every time; a table on stdout and, with --json, the records in a file.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "config_flags.hpp"
#include "layer_set.hpp"
#include "load_bench.hpp"
#include "qlinear/bench.hpp"
#include "qlinear/error.hpp"
#include "qlinear/registry.hpp"

namespace qlinear::tool {

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

namespace {

nlohmann::json to_json(const bench::Record& r) {
  return {{"kernel", r.kernel},
          {"family", r.family},
          {"device", r.device},
          {"M", r.m},
          {"N", r.n},
          {"K", r.k},
          {"us", r.us},
          {"tflops", r.tflops},
          {"gbs", r.gbs},
          {"floor_us", r.floor_us},
          {"baseline", r.baseline},
          {"baseline_us", r.baseline_us},
          {"speedup", r.speedup},
          {"us_min", r.us_min},
          {"peer", r.peer},
          {"config", r.config},
          {"implementation", r.implementation},
          {"memory_floor_us", r.memory_floor_us},
          {"compute_floor_us", r.compute_floor_us},
          {"copies", r.copies},
          {"peers_us", r.peers_us}};
}

void print_row(const bench::Record& r) {
  std::printf(
      "%-28s %-15s %5lld %6lld %6lld %10.1f %8.3f %8.1f %9.1f %9.1f %6.0f%% %-28s %10.1f %7.2fx\n",
      r.kernel.c_str(), r.family.c_str(), static_cast<long long>(r.m), static_cast<long long>(r.n),
      static_cast<long long>(r.k), r.us, r.tflops, r.gbs, r.memory_floor_us, r.compute_floor_us,
      100.0 * r.floor_us / r.us, r.baseline.empty() ? "-" : r.baseline.c_str(), r.baseline_us,
      r.speedup);
  std::fflush(stdout);
}

// --tp-size: the parallel layers' rows, printed and (with --json) written.
int run_parallel_bench(const bench::Options& options, int size, const std::string& json_path,
                       const std::string& note) {
  std::printf("%-8s %2s %5s %6s %6s %10s %10s %10s  %s\n", "split", "S", "M", "N", "K", "us",
              "shard_us", "collective", "kernel (rank 0) / config");
  const bench::ParallelRun run =
      bench::run_parallel(options, size, [](const bench::ParallelRecord& r) {
        std::printf("%-8s %2d %5lld %6lld %6lld %10.1f %10.1f %9.0f%%  %s / %s\n", r.split.c_str(),
                    r.size, static_cast<long long>(r.m), static_cast<long long>(r.n),
                    static_cast<long long>(r.k), r.us, r.shard_us, 100.0 * r.collective_share,
                    r.kernel.c_str(), r.config.c_str());
        std::fflush(stdout);
      });
  for (const std::string& n : run.notes) std::printf("note: %s\n", n.c_str());
  if (!json_path.empty()) {
    nlohmann::json records = nlohmann::json::array();
    for (const bench::ParallelRecord& r : run.records)
      records.push_back({{"split", r.split},
                         {"tp_size", r.size},
                         {"M", r.m},
                         {"N", r.n},
                         {"K", r.k},
                         {"us", r.us},
                         {"shard_us", r.shard_us},
                         {"collective_share", r.collective_share},
                         {"kernel", r.kernel},
                         {"config", r.config}});
    std::ofstream out(json_path);
    require(out.good(), "--json '", json_path, "': cannot open for writing");
    out << nlohmann::json{{"run", {{"date", utc_now()}, {"note", note}, {"notes", run.notes}}},
                          {"records", records}}
               .dump(1)
        << "\n";
    require(out.good(), "--json '", json_path, "': write failed");
  }
  return run.records.empty() ? 1 : 0;
}

}  // namespace

void add_bench(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "bench", "time kernels on layer shapes against the peers, with the floors");
  static ConfigFlags flags;
  static std::string device_text = "default", preset_name, json_path, baseline, note, load_model;
  static std::vector<std::string> kernels, shapes;
  static std::vector<int64_t> m_values{1, 16, 64, 256};
  static int reps = 30, warmup = 5, tp_size = 1, tp_rank = 0;
  static int64_t rotate_mib = 1024;
  static uint64_t seed = 1;
  flags.add_to(*command);
  command->add_option("--device", device_text,
                      "cpu, cuda, cuda:N or default (the GPU if there is one)");
  command->add_option("--kernel", kernels,
                      "these kernels, and 'default' for the default choice; 'all': every "
                      "kernel that runs but the reference (default: each provider's first that "
                      "runs, and the default choice)");
  command->add_option("--m", m_values, "M values (default 1 16 64 256)");
  command->add_option("--nk", shapes, "layer shapes NxK (default: --n x --k)");
  command->add_option("--preset", preset_name, "real layers: llama3-8b, llama3-70b-tp8");
  command->add_option("--reps", reps, "timed calls per row; the median is reported (default 30)");
  command->add_option("--warmup", warmup, "untimed calls before them (default 5)");
  command->add_option("--rotate-mib", rotate_mib,
                      "weight copies rotated over, MiB per case, so weights come from memory "
                      "(default 1024; 0: none)");
  command->add_option("--baseline", baseline,
                      "the peer to compare with (default: the most specific that applies)");
  command->add_option("--json", json_path, "write the records to this file");
  command->add_option("--note", note,
                      "a note on the run (e.g. 'contended: 2 shared cores'), kept in the JSON");
  command->add_option("--seed", seed, "random seed of the layers and inputs");
  command->add_option("--tp-size", tp_size,
                      "time the tensor-parallel layers over this many ranks (CPU: threads; GPUs: "
                      "NCCL, one each) with the collective's share, instead of the kernels");
  command->add_option("--load-model", load_model,
                      "time opening this checkpoint and preparing every quantized layer for the "
                      "device (GB/s of checkpoint bytes), instead of the kernels; with --tp-size, "
                      "the shards of rank --tp-rank alone");
  command
      ->add_option("--tp-rank", tp_rank,
                   "with --load-model and --tp-size: the rank whose shards are loaded (default 0)")
      ->check(CLI::NonNegativeNumber);
  command->callback([command, &exit_code] {
    // Asks for the device's timer first, so that a build without CUDA says so for --device cuda.
    if (device_text.starts_with("cuda")) (void)bench::make_bench_device(Device::parse(device_text));
    const Platform platform = target_platform(device_text);
    require(platform.detected, "bench needs a device of this machine; '", device_text,
            "' is a named target");
    if (!load_model.empty()) {
      require(tp_rank < tp_size, "bench: --tp-rank ", tp_rank, " is not a rank of --tp-size ",
              tp_size);
      exit_code =
          bench_checkpoint_load(load_model, platform.device(), tp_size, tp_rank, json_path, note);
      return;
    }
    const LayerSet layers =
        layer_set(flags, command->count("--family") > 0, preset_name, shapes, kernels, platform);
    bench::Options options;
    options.device = platform.device();
    options.configs = layers.configs;
    options.kernels = kernels;
    options.m_values = m_values;
    options.reps = reps;
    options.warmup = warmup;
    options.rotate_bytes = rotate_mib << 20;
    options.baseline = baseline;
    options.seed = seed;
    const std::vector<std::string>& skipped = layers.skipped;

    std::printf("qlinear bench on %s%s%s\n", options.device.str().c_str(),
                note.empty() ? "" : " -- ", note.c_str());
    if (command->count("--tp-size")) {  // --tp-size 1 too: a world of one (NCCL on a GPU)
      for (const std::string& s : skipped) std::printf("skipped: %s\n", s.c_str());
      exit_code = run_parallel_bench(options, tp_size, json_path, note);
      return;
    }
    std::string last_config;
    const bench::Run run = bench::run(options, [&](const bench::Record& r) {
      if (r.config != last_config) {
        if (last_config.empty())
          std::printf("%-28s %-15s %5s %6s %6s %10s %8s %8s %9s %9s %7s %-28s %10s %8s\n", "kernel",
                      "family", "M", "N", "K", "us", "TFLOP/s", "GB/s", "mem_fl_us", "cmp_fl_us",
                      "floor", "baseline", "base_us", "speedup");
        std::printf("-- %s\n", r.config.c_str());
        last_config = r.config;
      }
      print_row(r);
    });
    std::printf("device: %s\nread bandwidth (measured): %.1f GB/s\npeak rates: %s\n",
                run.device.c_str(), run.read_gbs, run.peak_source.c_str());
    for (const std::string& s : skipped) std::printf("skipped: %s\n", s.c_str());
    for (const std::string& n : run.notes) std::printf("note: %s\n", n.c_str());

    if (!json_path.empty()) {
      nlohmann::json records = nlohmann::json::array();
      for (const bench::Record& r : run.records) records.push_back(to_json(r));
      const nlohmann::json document{{"run",
                                     {{"date", utc_now()},
                                      {"device", run.device},
                                      {"read_gbs", run.read_gbs},
                                      {"peak_source", run.peak_source},
                                      {"note", note},
                                      {"reps", reps},
                                      {"warmup", warmup},
                                      {"rotate_mib", rotate_mib},
                                      {"notes", run.notes}}},
                                    {"records", records}};
      std::ofstream out(json_path);
      require(out.good(), "--json '", json_path, "': cannot open for writing");
      out << document.dump(1) << "\n";
      require(out.good(), "--json '", json_path, "': write failed");
      std::printf("wrote %zu records to %s\n", run.records.size(), json_path.c_str());
    }
    exit_code = run.records.empty() ? 1 : 0;
  });
}

}  // namespace qlinear::tool
