// A user's program: only public headers, no CUDA headers, the library found by find_package.
#include <cstdio>

#include "qlinear/conformance.hpp"
#include "qlinear/linear.hpp"

int main() {
  const qlinear::LayerConfig config = qlinear::default_config(qlinear::Family::mixed_precision, 64, 256);
  const qlinear::RandomLayer layer = qlinear::make_random_layer(config, 7);
  const qlinear::QuantizedLinear linear(config, layer.weights());
  const qlinear::Tensor x = qlinear::random_activations(config.act_type, std::array<int64_t, 2>{3, 256}, 8);
  const qlinear::Tensor y = linear.forward(x);
  std::printf("%s -> %s via %s\n", config.describe().c_str(), y.view().describe().c_str(),
              linear.kernel().name().c_str());
  return y.size(0) == 3 && y.size(1) == 64 ? 0 : 1;
}
