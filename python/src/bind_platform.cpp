// qlinear.env(), qlinear.kernels() and qlinear.select(): what `qlinear env`, `kernels` and
// `select` print, as Python values.
#include <pybind11/stl.h>

#include <cstdlib>

#include "arguments.hpp"
#include "qlinear/registry.hpp"
#include "qlinear/version.hpp"

namespace qlinear::python {
namespace {

py::dict cpu_dict(const Platform& host) {
  const CpuFeatures& f = host.cpu;
  const std::pair<const char*, bool> features[] = {{"avx2", f.avx2},
                                                   {"fma", f.fma},
                                                   {"f16c", f.f16c},
                                                   {"avx512f", f.avx512f},
                                                   {"avx512bw", f.avx512bw},
                                                   {"avx512vl", f.avx512vl},
                                                   {"avx512dq", f.avx512dq},
                                                   {"avx512_vnni", f.avx512_vnni},
                                                   {"avx512_bf16", f.avx512_bf16},
                                                   {"avx512_fp16", f.avx512_fp16},
                                                   {"amx_tile", f.amx_tile},
                                                   {"amx_int8", f.amx_int8},
                                                   {"amx_bf16", f.amx_bf16}};
  py::list present;
  for (const auto& [feature, has] : features)
    if (has) present.append(feature);
  py::dict cpu;
  cpu["brand"] = f.brand;
  cpu["vendor"] = f.vendor;
  cpu["cores"] = f.cores;
  cpu["isa"] = std::string(name(f.isa));
  cpu["target"] = host.str();
  cpu["features"] = present;
  cpu["amx_permitted"] = f.amx_permitted;
  return cpu;
}

py::dict env() {
  py::dict result;
  result["version"] = kVersion;
  result["cpu"] = cpu_dict(host_platform());
  result["cuda_built"] = kCudaBuilt;
  result["cuda_architectures"] = kCudaBuilt ? kCudaArchitectures : "";
  py::list gpus;
  for (const Platform& g : cuda_platforms()) {
    py::dict gpu;
    gpu["device"] = g.device().str();
    gpu["name"] = g.device_name;
    gpu["target"] = g.str();
    gpu["sm_count"] = g.sm_count;
    gpus.append(gpu);
  }
  result["gpus"] = gpus;
  return result;
}

// Where a kernel of the `kind` list runs on this machine: the devices, or why none.
std::pair<std::vector<std::string>, std::string> where_it_runs(const Kernel& kernel,
                                                               PlatformKind kind) {
  std::vector<const Platform*> platforms;
  if (kind == PlatformKind::cpu) platforms.push_back(&host_platform());
  if (kind == PlatformKind::cuda)
    for (const Platform& g : cuda_platforms()) platforms.push_back(&g);
  std::vector<std::string> devices;
  std::string refusal = platforms.empty() ? cat("no ", name(kind), " device here") : "";
  for (const Platform* p : platforms) {
    if (const Verdict v = kernel.supported(*p))
      devices.push_back(p->device().str());
    else if (refusal.empty())
      refusal = cat(p->str(), ": ", v.reason());
  }
  return {devices, devices.empty() ? refusal : ""};
}

py::list kernels(std::optional<std::string_view> family) {
  const std::optional<Family> only = family ? std::optional(family_arg(*family)) : std::nullopt;
  py::list result;
  for (int p = 0; p < kPlatformKindCount; ++p) {
    const auto kind = static_cast<PlatformKind>(p);
    for (const Kernel* k : Registry::global().kernels(kind)) {
      if (only && k->family() != *only) continue;
      const auto [devices, refusal] = where_it_runs(*k, kind);
      py::dict row;
      row["name"] = k->name();
      row["provider"] = std::string(name(k->info().provider));
      row["family"] = std::string(name(k->family()));
      row["platform"] = std::string(name(kind));
      row["runs_on"] = devices;
      row["why_not"] = refusal;
      result.append(row);
    }
  }
  return result;
}

Choice select(const LayerConfig& config, std::string_view target, const std::string& kernel,
              const std::vector<std::string>& disabled) {
  const Platform platform = target_arg(target);
  ChooseOptions options;
  options.force = kernel;
  options.disabled = disabled;
  return caller_errors([&] { return Registry::global().choose(config, platform, options); });
}

}  // namespace

void bind_platform(py::module_& m) {
  // A choice is read through the chosen kernel's name and describe(), which stay what they mean
  // as the choice grows.
  py::class_<Choice>(m, "Choice",
                     "The kernel chosen for a layer and why the others were passed over.")
      .def_property_readonly("kernel", [](const Choice& c) { return c.kernel->name(); })
      .def_property_readonly("platform", [](const Choice& c) { return c.platform; })
      .def_property_readonly(
          "passed_over",
          [](const Choice& c) {
            py::dict reasons;
            for (const Rejection& r : c.rejected) reasons[py::str(r.kernel)] = r.reason;
            return reasons;
          },
          "{kernel name: why it was passed over}, in priority order.")
      .def("__str__", [](const Choice& c) { return describe(c); })
      .def("__repr__",
           [](const Choice& c) { return cat("<qlinear.Choice ", c.kernel->name(), ">"); });

  m.def("env", &env, "The platform as qlinear sees it: version, CPU features and ISA level, GPUs.");
  m.def("kernels", &kernels, py::arg("family") = py::none(),
        "Every registered kernel with its provider, family, the devices it runs on here and, "
        "where none, why not.");
  m.def("select", &select, py::arg("config"), py::arg("target") = "default", py::arg("kernel") = "",
        py::arg("disabled") = std::vector<std::string>{},
        "The kernel chosen for `config` on `target` (this machine's default device, 'cpu', "
        "'cuda:1', or a named target such as 'cuda:sm_90a' or 'cpu:avx2'), with the reasons.");
}

}  // namespace qlinear::python
