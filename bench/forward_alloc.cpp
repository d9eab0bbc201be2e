// What QuantizedLinear::forward's own output costs: per call, forward (which allocates the
// output) beside forward_into (the caller's output), and the allocation alone (Tensor::empty of
// the output's size, written once, freed), with the minor page faults and THP faults of each,
// for the llama3-8b layers at M = 64 and 256 of mixed_precision (W4A16 g128) and int8_scaled_mm
// (W8A8), the kernel QuantizedLinear chooses. Medians of `reps` interleaved calls. The library is
// the one LD_LIBRARY_PATH names, so one binary compares two builds of the same headers.
//
//   g++ -O2 -std=c++20 -I include bench/forward_alloc.cpp -o /tmp/forward_alloc \
//       -L build-cpu/lib -lqlinear
//   LD_LIBRARY_PATH=build-cpu/lib /tmp/forward_alloc [reps, default 7]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "qlinear/conformance.hpp"
#include "qlinear/linear.hpp"

namespace {

using namespace qlinear;
using Clock = std::chrono::steady_clock;

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

long thp_faults() {  // huge pages the kernel handed out, system-wide
  std::ifstream f("/proc/vmstat");
  std::string key;
  long value = 0;
  while (f >> key >> value)
    if (key == "thp_fault_alloc") return value;
  return -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Milliseconds and minor faults of one call of `f`, appended.
template <typename F>
void timed(F&& f, std::vector<double>& ms, long& faults) {
  const long before = minor_faults();
  const auto start = Clock::now();
  f();
  ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  faults += minor_faults() - before;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 7;
  struct Shape {
    const char* name;
    int64_t n, k;
  };
  const Shape shapes[] = {
      {"qkv", 6144, 4096}, {"o", 4096, 4096}, {"gate_up", 28672, 4096}, {"down", 4096, 14336}};
  for (Family family : {Family::mixed_precision, Family::int8_scaled_mm}) {
    for (const Shape& s : shapes) {
      const LayerConfig c = default_config(family, s.n, s.k);
      const RandomLayer layer = make_random_layer(c, 1);
      const QuantizedLinear linear(c, layer.weights());
      for (int64_t m : {64, 256}) {
        const std::vector<int64_t> x_shape{m, s.k};
        const Tensor x = random_activations(c.act_type, x_shape, 2);
        const Tensor out = Tensor::empty(c.out_type, {m, s.n});
        for (int i = 0; i < 2; ++i) {
          linear.forward_into(x, out);
          (void)linear.forward(x);
        }
        std::vector<double> into_ms, forward_ms, alloc_ms;
        long into_faults = 0, forward_faults = 0, alloc_faults = 0;
        const long thp_before = thp_faults();
        for (int r = 0; r < reps; ++r) {
          timed([&] { linear.forward_into(x, out); }, into_ms, into_faults);
          timed([&] { (void)linear.forward(x); }, forward_ms, forward_faults);
          timed(
              [&] {
                const Tensor y = Tensor::empty(c.out_type, {m, s.n});
                std::memset(y.data(), 1, static_cast<size_t>(y.nbytes()));
              },
              alloc_ms, alloc_faults);
        }
        std::printf(
            "%-16s %-8s m=%-4lld out=%6.2f MiB  into %8.3f ms  forward %8.3f ms  (+%6.3f)  "
            "alloc+touch %7.3f ms  faults/call into %5.1f fwd %6.1f alloc %6.1f  thp/call %.1f  "
            "[%s]\n",
            std::string(name(family)).c_str(), s.name, static_cast<long long>(m),
            static_cast<double>(out.nbytes()) / (1 << 20), median(into_ms), median(forward_ms),
            median(forward_ms) - median(into_ms), median(alloc_ms),
            static_cast<double>(into_faults) / reps, static_cast<double>(forward_faults) / reps,
            static_cast<double>(alloc_faults) / reps,
            static_cast<double>(thp_faults() - thp_before) / reps, linear.kernel().name().c_str());
        std::fflush(stdout);
      }
    }
  }
}
