// The CPU's bench device.
//
// Peak rates: ops per cycle per core from the instruction throughput of the ISA level (a
// multiply-add counts 2), times the cores this process may use, times the clock measured here
// with a chain of dependent register adds (1 cycle each on every x86 core). Per core and cycle:
//   level         int8   bf16   fp16   fp32   from
//   amx           2048   1024    *      64    AMX TMUL: 1024 int8 / 512 bf16 MACs a cycle (Intel
//                                              optimization manual, Sapphire Rapids)
//   avx512_vnni    256    128    *      64    2 x 512-bit vpdpbusd (64 MACs) / vdpbf16ps (32) /
//                                              vfmadd231ps (16) a cycle (Intel server cores, Zen 5)
//   avx512         128     64   64      64    vpmaddubsw + vpmaddwd pairs; bf16 through fp32 FMA
//   avx2            64     32   32      32    the same at 256 bits
//   scalar           4      4    4       4
// (*) fp16 runs at twice the fp32 rate where AVX512-FP16 exists, else at the fp32 rate. Zen 4
// (AMD family 0x19) executes 512-bit operations in two halves: its AVX-512 rates are halved.
// Formats without CPU arithmetic (fp8, fp4) count at the bf16 rate, the fastest exact route.
// The peaks are upper bounds (all-core clocks under AVX-512 load may be lower), as a floor needs.
#include "bench/cpu_bench_device.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "qlinear/error.hpp"
#include "qlinear/platform.hpp"

namespace qlinear::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Rates {
  double int8, bf16, fp16, fp32;  // ops per cycle per core
};

Rates rates_of(const CpuFeatures& f) {
  Rates r{4, 4, 4, 4};
  switch (f.isa) {
    case CpuIsa::amx:
      r = {2048, 1024, 64, 64};
      break;
    case CpuIsa::avx512_vnni:
      r = {256, 128, 64, 64};
      break;
    case CpuIsa::avx512:
      r = {128, 64, 64, 64};
      break;
    case CpuIsa::avx2:
      r = {64, 32, 32, 32};
      break;
    case CpuIsa::scalar:
      break;
  }
  if (f.avx512_fp16 && f.isa >= CpuIsa::avx512) r.fp16 = 128;
  if (f.avx512_vnni && f.isa == CpuIsa::avx512) r.int8 = 256;  // VNNI without BF16 (Ice Lake)
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const unsigned family =
      __get_cpuid(1, &eax, &ebx, &ecx, &edx) ? ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff) : 0;
  if (f.vendor == "AuthenticAMD" && family == 0x19 && f.isa >= CpuIsa::avx512 &&
      f.isa != CpuIsa::amx)
    r = {r.int8 / 2, r.bf16 / 2, r.fp16 / 2, r.fp32 / 2};
#endif
  return r;
}

// Core clock in Hz: 8 dependent register-to-register adds per iteration take 8 cycles; the loop
// counter runs beside. (Adds of an immediate are not a clock: Intel's cores since Golden Cove
// fold them at rename, and the chain measured 6.3-8.9 GHz on a 2.7 GHz Xeon with AMX, 2026-12-08.)
// The best of 25 short trials: on a shared machine (a VM whose core's SMT sibling is busy, other
// processes) a trial only ever runs slower than the clock.
double measure_clock_hz() {
#if defined(__x86_64__)
  constexpr int64_t kIterations = 1'000'000;
  double best = 0;
  for (int trial = 0; trial < 25; ++trial) {
    uint64_t x = 0;
    const uint64_t one = 1;
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < kIterations; ++i)
      asm volatile(
          "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
          "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0"
          : "+r"(x)
          : "r"(one));
    best = std::max(best, 8.0 * kIterations / seconds_since(t0));
  }
  return best;
#else
  return 0;
#endif
}

int64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return int64_t{4} << 30;
}

class CpuBenchDevice final : public BenchDevice {
 public:
  CpuBenchDevice()
      : platform_(host_platform()),
        threads_(std::min(platform_.cpu.cores, omp_get_max_threads())),
        clock_hz_(measure_clock_hz()),
        rates_(rates_of(platform_.cpu)) {}

  std::string describe() const override {
    return cat("cpu: ", platform_.cpu.brand, ", ", threads_, " threads, ", platform_.str());
  }

  // Each turn starts once the threads of the one before have gone quiet: an OpenMP runtime
  // (oneDNN's, and this bench's bandwidth probe) keeps its workers spinning for milliseconds after
  // a parallel region, and a qlinear kernel timed in that window found a core taken, 1.2-1.8x
  // slower on 2 vCPUs: most of the low ratios to oneDNN at M = 64 measured before (bench/NOTES.md,
  // "The bench's OpenMP spin"). qlinear's own pool waits without spinning.
  std::vector<double> time(const std::function<void(int, Stream)>& body, int warmup,
                           int reps) override {
    std::this_thread::sleep_for(kSettle);
    std::vector<double> us;
    us.reserve(static_cast<size_t>(reps));
    for (int i = 0; i < warmup + reps; ++i) {
      const auto t0 = Clock::now();
      body(i, Stream{});
      const double t = seconds_since(t0) * 1e6;
      if (i >= warmup) us.push_back(t);
    }
    return us;
  }

  // Sum of int64 over a buffer of up to 1 GiB, all threads, four independent sums per thread so
  // that the adds never limit it (the first touch, by the same threads, places the pages). Best
  // of 20: other processes on a shared machine only ever slow it down.
  double measure_read_bandwidth() override {
    const int64_t bytes =
        std::min<int64_t>(int64_t{1} << 30, available_memory_bytes() / 4) / 4096 * 4096;
    const int64_t n = bytes / 8 / 4 * 4;
    std::unique_ptr<int64_t, decltype(&std::free)> buffer(
        static_cast<int64_t*>(std::aligned_alloc(4096, static_cast<size_t>(bytes))), &std::free);
    require(buffer != nullptr, "bench: could not allocate ", bytes,
            " bytes for the bandwidth probe");
    int64_t* a = buffer.get();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = i;
    double best = 1e30;
    volatile int64_t sink = 0;
    for (int rep = 0; rep < 20; ++rep) {
      const auto t0 = Clock::now();
      int64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
      for (int64_t i = 0; i < n; i += 4) sum += (a[i] + a[i + 1]) + (a[i + 2] + a[i + 3]);
      best = std::min(best, seconds_since(t0));
      sink = sum;
    }
    (void)sink;
    return static_cast<double>(n * 8) / best * 1e-9;
  }

  int64_t copy_budget_bytes() const override { return available_memory_bytes() / 2; }

  double peak_ops(ScalarType type) const override {
    double per_cycle = rates_.bf16;
    switch (type) {
      case ScalarType::int8:
      case ScalarType::uint8:
        per_cycle = rates_.int8;
        break;
      case ScalarType::fp16:
        per_cycle = rates_.fp16;
        break;
      case ScalarType::fp32:
        per_cycle = rates_.fp32;
        break;
      default:
        break;
    }
    return per_cycle * threads_ * clock_hz_;
  }

  std::string peak_source() const override {
    return cat("ops/cycle/core for ", name(platform_.cpu.isa), " (int8 ", rates_.int8, ", bf16 ",
               rates_.bf16, ", fp16 ", rates_.fp16, ", fp32 ", rates_.fp32,
               "; instruction throughput table in src/bench/cpu_bench_device.cpp) x ", threads_,
               " cores x ", clock_hz_ * 1e-9, " GHz (measured: dependent-add chain)");
  }

 private:
  // libgomp spins 300,000 rounds by default before it sleeps, a few ms here; 20 ms measured
  // enough (bench/NOTES.md).
  static constexpr std::chrono::milliseconds kSettle{20};
  Platform platform_;
  int threads_;
  double clock_hz_;
  Rates rates_;
};

}  // namespace

std::unique_ptr<BenchDevice> make_cpu_bench_device(Device device) {
  require(device.is_cpu(), "bench: the CPU bench device cannot time ", device.str());
  return std::make_unique<CpuBenchDevice>();
}

}  // namespace qlinear::bench
