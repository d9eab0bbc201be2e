// The kernel interface. Every kernel answers four questions: can I run on this platform
// (supported)? can I implement this layer (can_implement)? how must the checkpoint's weights be
// re-laid out for me (process_weights)? and run it (apply).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "qlinear/config.hpp"
#include "qlinear/platform.hpp"
#include "qlinear/tensor.hpp"

namespace qlinear {

// Yes, or no with a reason a person can act on ("group_size 96 not supported; supported: 32, 64,
// 128").
class Verdict {
 public:
  static Verdict yes() { return Verdict(); }
  static Verdict no(std::string reason) { return Verdict(std::move(reason)); }
  explicit operator bool() const { return ok_; }
  bool ok() const { return ok_; }
  const std::string& reason() const { return reason_; }

 private:
  Verdict() = default;
  explicit Verdict(std::string reason) : ok_(false), reason_(std::move(reason)) {}
  bool ok_ = true;
  std::string reason_;
};

// `composite`: a plan of other kernels by token count (qlinear/composite.hpp).
enum class Provider : uint8_t { reference, cpu, onednn, cuda, cublaslt, external, composite };
std::string_view name(Provider provider);
std::optional<Provider> parse_provider(std::string_view text);
std::span<const Provider> all_providers();

// The layer's tensors in the canonical decoded meaning, as checkpoint converters produce them
// (shapes over the partition [N, K] of the config). Absent tensors are undefined views.
//   weight              [N, K] codes of weight_type, row-major; 4-bit types packed along K.
//                       Or, for 4- and 8-bit integer codes on the CPU, the codes in words as
//                       GPTQ stores them: word (i, n) of 32 bits holds codes k = i·b .. i·b + b - 1
//                       of row n (b = 32 / bits, low bits first), words of a row of words
//                       adjacent, rows S >= N words apart; as a view [N, K / b, b] with strides
//                       [b, b·S, 1] (core/code_words.hpp). Only a kernel that takes_code_words
//                       sees this form: QuantizedLinear hands any other the canonical copy.
//   weight_scale        LayerConfig::weight_scale_shape(), weight_scale_type
//   weight_zero_point   same shape as weight_scale, uint8 holding the unsigned code of the zero
//   weight_global_scale [1] fp32 (nvfp4 families): multiplies every dequantized weight
//   g_idx               [K] int32: group of each K position (act order)
//   input_scale         [1] fp32: static activation scale (x ≈ q · input_scale); for nvfp4 the
//                       activation global scale (amax / (448 · 6)), per-16 scales being dynamic
//   input_zero_point    [1] int32: static activation zero point (int8 azp)
// Dequantized weight: w[n, k] = (value(code) - value(zp)) · scale[row(n), group(k)] · global.
struct LayerWeights {
  TensorView weight;
  TensorView weight_scale;
  TensorView weight_zero_point;
  TensorView weight_global_scale;
  TensorView g_idx;
  TensorView input_scale;
  TensorView input_zero_point;
};

// Owning storage for the tensors of a LayerWeights (what checkpoint converters and random layers
// produce); weights() hands out the views.
struct LayerTensors {
  Tensor weight, weight_scale, weight_zero_point, weight_global_scale, g_idx, input_scale,
      input_zero_point;
  LayerWeights weights() const;
  // A copy of every defined tensor on `device`.
  LayerTensors to(Device device) const;
};

// A kernel's own layout of a layer's weights, made once by process_weights. Kernels subclass it.
class PreparedWeights {
 public:
  explicit PreparedWeights(LayerConfig config) : config_(std::move(config)) {}
  virtual ~PreparedWeights() = default;
  const LayerConfig& config() const { return config_; }

 private:
  LayerConfig config_;
};

// The caller's CUDA stream (a cudaStream_t), opaque so that public headers stay CUDA-free.
struct Stream {
  void* handle = nullptr;
};

struct KernelInfo {
  std::string name;  // unique; also the name of the file that implements it
  Provider provider;
  Family family;
  // Its prepared weights hold a dense bf16 copy of the layer (the emulation): fast at large M
  // only by spending the memory quantization saves, so `qlinear tune` leaves it out of plans.
  bool keeps_dense_copy = false;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual const KernelInfo& info() const = 0;
  const std::string& name() const { return info().name; }
  Family family() const { return info().family; }

  // Can this kernel run on the platform at all (ISA, compute capability, build)?
  virtual Verdict supported(const Platform& platform) const = 0;
  // Can it implement this (valid) config? Every limit is stated with the value and what is
  // accepted.
  virtual Verdict can_implement(const LayerConfig& config) const = 0;
  // Re-lays the canonical weights out for this kernel on `device`. The inputs are validated
  // against the config before this is called and are never modified.
  virtual std::shared_ptr<const PreparedWeights> process_weights(const LayerConfig& config,
                                                                 const LayerWeights& weights,
                                                                 Device device) const = 0;
  // Whether process_weights packs from the codes in words (LayerWeights::weight) itself: where
  // they are what the checkpoint stores, packing them in one pass saves the canonical copy.
  virtual bool takes_code_words() const { return false; }
  // out[M, N] = x[M, K] · Wᵀ (+ bias[N]); x, bias and out are validated and on the weights' device.
  virtual void apply(const PreparedWeights& weights, const TensorView& x, const TensorView& bias,
                     const TensorView& out, Stream stream) const = 0;

  // Largest error this kernel may show against the exact reference, as a fraction of
  // sum_k |x̂[m,k]·ŵ[n,k]| + |bias[n]| (x̂, ŵ the reference's decoded operands). The default
  // allows fp32 accumulation and one rounding to the output type.
  virtual double tolerance(const LayerConfig& config) const;
  // `prepared` (made by this kernel) as `other` would prepare the same weights, when `other` reads
  // the same layout, so that the parts of a composite hold one copy; else null.
  virtual std::shared_ptr<const PreparedWeights> weights_for(
      const Kernel& other, const std::shared_ptr<const PreparedWeights>& prepared) const {
    return &other == this ? prepared : nullptr;
  }
  // The other way round: this kernel's weights made from `prepared`, which `other` made, where
  // this kernel reads other's layout (adding only what it needs beside it), so that a composite
  // holds and prepares one copy whichever of the two comes first; else null.
  virtual std::shared_ptr<const PreparedWeights> weights_from(
      const Kernel& /*other*/, const std::shared_ptr<const PreparedWeights>& /*prepared*/) const {
    return nullptr;
  }
};

// Unit roundoff (half an ulp, relative) of a float type: 2^-(mantissa_bits + 1).
double unit_roundoff(ScalarType type);

}  // namespace qlinear
