// Platforms: what a kernel may run on. The platform of this machine is detected (CPUID, CUDA
// devices); a named target ("cpu:avx2", "cuda:sm_80", "rocm:gfx942") describes one that need not
// be present, so selection can be asked about other machines.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qlinear/tensor.hpp"

namespace qlinear {

// Platforms without hardware here (rocm, xpu) are values already, so kernels for them can be
// registered without touching selection.
enum class PlatformKind : uint8_t { cpu, cuda, rocm, xpu };
inline constexpr int kPlatformKindCount = 4;
std::string_view name(PlatformKind kind);
std::optional<PlatformKind> parse_platform_kind(std::string_view text);

// x86 ISA levels, each implying the ones before it. Kernels name the level they need.
enum class CpuIsa : uint8_t {
  scalar,
  avx2,         // AVX2 + FMA + F16C
  avx512,       // AVX-512 F/BW/VL/DQ
  avx512_vnni,  // + VNNI (vpdpbusd) and BF16 (vdpbf16ps)
  amx,          // + AMX tiles (int8, bf16), usable after the Linux permission request
};
std::string_view name(CpuIsa isa);
std::optional<CpuIsa> parse_cpu_isa(std::string_view text);

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false, avx512_fp16 = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  bool amx_permitted = false;  // the kernel granted XTILEDATA (arch_prctl ARCH_REQ_XCOMP_PERM)
  // Highest level all of whose features are present (and enabled by the OS), then capped by
  // QLINEAR_CPU_ISA if set.
  CpuIsa isa = CpuIsa::scalar;
  std::string vendor, brand;
  int cores = 1;  // logical processors this process may run on
};

struct Platform {
  PlatformKind kind = PlatformKind::cpu;
  bool detected = false;  // false for a named target
  CpuFeatures cpu;        // kind cpu
  // kind cuda: compute capability as major*10+minor (80, 90, 100); arch_specific = the 'a'
  // features (wgmma, setmaxnreg) of sm_90a / sm_100a are usable.
  int compute_capability = 0;
  bool arch_specific = false;
  int sm_count = 0;
  int device_index = 0;
  std::string device_name;
  std::string arch;  // rocm: gfx942; xpu: device name

  // "cpu:avx512_vnni", "cuda:sm_90a", "rocm:gfx942"
  std::string str() const;
  Device device() const;
};

// The CPU of this machine.
const Platform& host_platform();
// CUDA devices of this machine (empty without CUDA or without a GPU).
std::span<const Platform> cuda_platforms();
// The platform of a device: the host for cpu, the CUDA device for cuda:N (throws if absent).
const Platform& platform_of(Device device);
// A target by name: cpu, cpu:scalar|avx2|avx512|avx512_vnni|amx, cuda:sm_80|sm_90|sm_90a|sm_100a,
// rocm:gfxNNN, xpu[:name]. Throws qlinear::Error listing the accepted forms otherwise.
Platform parse_target(std::string_view text);

}  // namespace qlinear
