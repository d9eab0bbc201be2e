// Platform detection (CPUID and XGETBV on x86, the CUDA hooks for GPUs) and named targets.
#include "qlinear/platform.hpp"

#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/cuda_hooks.hpp"
#include "qlinear/error.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace qlinear {
namespace {

constexpr std::array<std::string_view, kPlatformKindCount> kKindNames{"cpu", "cuda", "rocm", "xpu"};
constexpr std::array<std::string_view, 5> kIsaNames{"scalar", "avx2", "avx512", "avx512_vnni",
                                                    "amx"};

#if defined(__x86_64__)
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};
Regs cpuid(unsigned leaf, unsigned subleaf = 0) {
  Regs r;
  __cpuid_count(leaf, subleaf, r.a, r.b, r.c, r.d);
  return r;
}
bool bit(unsigned value, int index) { return (value >> index) & 1u; }

uint64_t xgetbv0() {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

// Linux keeps AMX tile data off until a process asks (arch_prctl ARCH_REQ_XCOMP_PERM).
bool request_amx_permission() {
#if defined(__linux__)
  constexpr int kArchReqXcompPerm = 0x1023;
  constexpr int kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

void detect_x86(CpuFeatures& f) {
  const unsigned max_leaf = cpuid(0).a;
  {
    Regs v = cpuid(0);
    char vendor[13] = {};
    std::memcpy(vendor, &v.b, 4);
    std::memcpy(vendor + 4, &v.d, 4);
    std::memcpy(vendor + 8, &v.c, 4);
    f.vendor = vendor;
  }
  if (cpuid(0x80000000u).a >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      Regs r = cpuid(0x80000002u + i);
      std::memcpy(brand + 16 * i, &r, 16);
    }
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
  const Regs l1 = cpuid(1);
  const bool osxsave = bit(l1.c, 27);
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;                 // XMM and YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;         // XTILECFG, XTILEDATA
  f.fma = os_avx && bit(l1.c, 12);
  f.f16c = os_avx && bit(l1.c, 29);
  if (max_leaf >= 7) {
    const Regs l7 = cpuid(7, 0);
    const Regs l7s1 = cpuid(7, 1);
    f.avx2 = os_avx && bit(l7.b, 5);
    f.avx512f = os_avx512 && bit(l7.b, 16);
    f.avx512dq = os_avx512 && bit(l7.b, 17);
    f.avx512bw = os_avx512 && bit(l7.b, 30);
    f.avx512vl = os_avx512 && bit(l7.b, 31);
    f.avx512_vnni = os_avx512 && bit(l7.c, 11);
    f.avx512_fp16 = os_avx512 && bit(l7.d, 23);
    f.avx512_bf16 = os_avx512 && bit(l7s1.a, 5);
    f.amx_bf16 = os_amx && bit(l7.d, 22);
    f.amx_tile = os_amx && bit(l7.d, 24);
    f.amx_int8 = os_amx && bit(l7.d, 25);
  }
  if (f.amx_tile) f.amx_permitted = request_amx_permission();
}
#endif

// Caps f at `level`: the level, and the features of the levels above it (a kernel that checks a
// feature, such as the int8 tiles' VNNI, is capped too).
void cap_features(CpuFeatures& f, CpuIsa level) {
  if (level < f.isa) f.isa = level;
  if (level < CpuIsa::amx) f.amx_tile = f.amx_int8 = f.amx_bf16 = f.amx_permitted = false;
  if (level < CpuIsa::avx512_vnni) f.avx512_vnni = f.avx512_bf16 = f.avx512_fp16 = false;
  if (level < CpuIsa::avx512) f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = false;
  if (level < CpuIsa::avx2) f.avx2 = f.fma = f.f16c = false;
}

CpuIsa isa_of(const CpuFeatures& f) {
  CpuIsa isa = CpuIsa::scalar;
  if (f.avx2 && f.fma && f.f16c) isa = CpuIsa::avx2;
  if (isa == CpuIsa::avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq)
    isa = CpuIsa::avx512;
  if (isa == CpuIsa::avx512 && f.avx512_vnni && f.avx512_bf16) isa = CpuIsa::avx512_vnni;
  if (isa == CpuIsa::avx512_vnni && f.amx_tile && f.amx_int8 && f.amx_bf16 && f.amx_permitted)
    isa = CpuIsa::amx;
  return isa;
}

int usable_cores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

Platform detect_host() {
  Platform p;
  p.kind = PlatformKind::cpu;
  p.detected = true;
#if defined(__x86_64__)
  detect_x86(p.cpu);
#endif
  p.cpu.cores = usable_cores();
  p.cpu.isa = isa_of(p.cpu);
  if (const char* cap = std::getenv("QLINEAR_CPU_ISA"); cap && *cap) {
    const auto level = parse_cpu_isa(cap);
    require(level.has_value(), "QLINEAR_CPU_ISA='", cap,
            "': expected one of scalar, avx2, avx512, avx512_vnni, amx");
    cap_features(p.cpu, *level);
  }
  return p;
}

int parse_int(std::string_view text) {
  int value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return (ec == std::errc() && end == text.data() + text.size()) ? value : -1;
}

}  // namespace

std::string_view name(PlatformKind kind) { return kKindNames[static_cast<int>(kind)]; }
std::optional<PlatformKind> parse_platform_kind(std::string_view text) {
  for (size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == text) return static_cast<PlatformKind>(i);
  return std::nullopt;
}

std::string_view name(CpuIsa isa) { return kIsaNames[static_cast<int>(isa)]; }
std::optional<CpuIsa> parse_cpu_isa(std::string_view text) {
  for (size_t i = 0; i < kIsaNames.size(); ++i)
    if (kIsaNames[i] == text) return static_cast<CpuIsa>(i);
  return std::nullopt;
}

std::string Platform::str() const {
  switch (kind) {
    case PlatformKind::cpu:
      return cat("cpu:", name(cpu.isa));
    case PlatformKind::cuda:
      return cat("cuda:sm_", compute_capability, arch_specific ? "a" : "");
    case PlatformKind::rocm:
      return cat("rocm:", arch);
    case PlatformKind::xpu:
      return arch.empty() ? "xpu" : cat("xpu:", arch);
  }
  return "unknown";
}

Device Platform::device() const {
  return kind == PlatformKind::cuda ? Device::cuda(device_index) : Device::cpu();
}

const Platform& host_platform() {
  static const Platform host = detect_host();
  return host;
}

std::span<const Platform> cuda_platforms() {
  static const std::vector<Platform> devices = detail::detect_cuda_platforms();
  return devices;
}

const Platform& platform_of(Device device) {
  if (device.is_cpu()) return host_platform();
  const auto gpus = cuda_platforms();
  require(device.index >= 0 && device.index < static_cast<int>(gpus.size()), "device ",
          device.str(), ": not present (this machine has ", gpus.size(), " CUDA device(s))");
  return gpus[device.index];
}

Platform parse_target(std::string_view text) {
  const auto colon = text.find(':');
  const auto kind_text = text.substr(0, colon);
  const auto detail = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  const auto kind = parse_platform_kind(kind_text);
  const std::string expected =
      "expected cpu[:scalar|avx2|avx512|avx512_vnni|amx], cuda:sm_NN[a], rocm:gfxNNN or xpu[:name]";
  require(kind.has_value(), "target '", text, "': unknown platform '", kind_text, "'; ", expected);
  Platform p;
  p.kind = *kind;
  switch (*kind) {
    case PlatformKind::cpu: {
      if (detail.empty()) return host_platform();
      const auto isa = parse_cpu_isa(detail);
      require(isa.has_value(), "target '", text, "': unknown CPU ISA '", detail, "'; ", expected);
      p.cpu.isa = *isa;
      p.cpu.avx2 = p.cpu.fma = p.cpu.f16c = *isa >= CpuIsa::avx2;
      p.cpu.avx512f = p.cpu.avx512bw = p.cpu.avx512vl = p.cpu.avx512dq = *isa >= CpuIsa::avx512;
      p.cpu.avx512_vnni = p.cpu.avx512_bf16 = *isa >= CpuIsa::avx512_vnni;
      p.cpu.amx_tile = p.cpu.amx_int8 = p.cpu.amx_bf16 = p.cpu.amx_permitted = *isa >= CpuIsa::amx;
      p.cpu.cores = host_platform().cpu.cores;
      return p;
    }
    case PlatformKind::cuda: {
      std::string_view sm = detail;
      require(sm.starts_with("sm_"), "target '", text, "': ", expected);
      sm.remove_prefix(3);
      if (sm.ends_with('a')) {
        p.arch_specific = true;
        sm.remove_suffix(1);
      }
      p.compute_capability = parse_int(sm);
      require(p.compute_capability >= 50 && p.compute_capability < 200, "target '", text,
              "': compute capability '", sm, "' is not a number like 80 or 90; ", expected);
      p.sm_count = 132;  // an H100's; a target names an architecture, not a card
      return p;
    }
    case PlatformKind::rocm:
      require(detail.starts_with("gfx"), "target '", text, "': ", expected);
      p.arch = std::string(detail);
      return p;
    case PlatformKind::xpu:
      p.arch = std::string(detail);
      return p;
  }
  return p;
}

}  // namespace qlinear
