// `qlinear env`: the platform as qlinear sees it.
#include <cstdio>
#include <cstdlib>

#include "commands.hpp"
#include "qlinear/platform.hpp"
#include "qlinear/version.hpp"

namespace qlinear::tool {
namespace {

void print_cpu() {
  const Platform& host = host_platform();
  const CpuFeatures& f = host.cpu;
  std::printf("cpu: %s (%s), %d cores\n", f.brand.c_str(), f.vendor.c_str(), f.cores);
  const std::pair<const char*, bool> features[] = {
      {"avx2", f.avx2},           {"fma", f.fma},                 {"f16c", f.f16c},
      {"avx512f", f.avx512f},     {"avx512bw", f.avx512bw},       {"avx512vl", f.avx512vl},
      {"avx512dq", f.avx512dq},   {"avx512_vnni", f.avx512_vnni}, {"avx512_bf16", f.avx512_bf16},
      {"avx512_fp16", f.avx512_fp16}, {"amx_tile", f.amx_tile},   {"amx_int8", f.amx_int8},
      {"amx_bf16", f.amx_bf16}};
  std::printf("  features:");
  for (const auto& [feature, present] : features)
    if (present) std::printf(" %s", feature);
  std::printf("\n  amx: %s\n", !f.amx_tile ? "not present"
                               : f.amx_permitted ? "usable (Linux granted tile data)"
                                                 : "present but Linux refused the tile-data permission");
  const char* cap = std::getenv("QLINEAR_CPU_ISA");
  std::printf("  isa level: %s%s%s\n", host.str().c_str(), cap ? " (capped by QLINEAR_CPU_ISA=" : "",
              cap ? (std::string(cap) + ")").c_str() : "");
}

void print_gpus() {
  const auto gpus = cuda_platforms();
  if (!kCudaBuilt) {
    std::printf("cuda: not built (-DQLINEAR_CUDA=OFF or no toolkit at build time)\n");
    return;
  }
  if (gpus.empty()) {
    std::printf("cuda: built for %s; no CUDA device visible (no driver or no GPU)\n", kCudaArchitectures);
    return;
  }
  std::printf("cuda: built for %s; %zu device(s)\n", kCudaArchitectures, gpus.size());
  for (const Platform& g : gpus)
    std::printf("  cuda:%d %s, %s, %d SMs\n", g.device_index, g.device_name.c_str(), g.str().c_str(),
                g.sm_count);
}

}  // namespace

void add_env(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("env", "platform, ISA features and GPUs as qlinear sees them");
  command->callback([&exit_code] {
    std::printf("qlinear %s\n", kVersion);
    print_cpu();
    print_gpus();
    exit_code = 0;
  });
}

}  // namespace qlinear::tool
