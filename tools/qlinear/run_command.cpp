// `qlinear run`: one layer of a checkpoint on a .npy input, as an engine would run it: the layer
// converted to the canonical layout (and split for a tensor-parallel rank), a kernel chosen or
// forced, x rounded to the checkpoint's activation dtype, the output written as float32 .npy.
// With --tp-size S and no --tp-rank, all S ranks run (threads of this process: an in-process group
// on the CPU, NCCL over cuda:0 … cuda:S-1) and y is the whole layer's output.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "commands.hpp"
#include "npy.hpp"
#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"
#include "qlinear/linear.hpp"
#include "qlinear/parallel.hpp"

namespace qlinear::tool {
namespace {

// More ranks than any node has GPUs; the CPU runs each as a thread.
constexpr int kMaxTensorParallelSize = 1024;

Tensor on_device(const Tensor& t, Device device) {
  return t.defined() && !device.is_cpu() ? Tensor::copy_of(t, device) : t;
}

// x as the layer's activation dtype: the columns [k0, k0 + k) of each row, each value rounded.
Tensor activations(const NpyArray& array, bool bf16_input, ScalarType act_type, int64_t k0,
                   int64_t k, const std::string& path) {
  require(!array.shape.empty(), path, ": x must have at least one dimension ([..., K])");
  ScalarType source = ScalarType::fp32;
  if (array.descr == "<f2") source = ScalarType::fp16;
  if (array.descr == "<u2") {
    require(bf16_input, path, ": uint16 input; pass --input-bf16 if it holds bfloat16 bits");
    source = ScalarType::bf16;
  }
  const int64_t width = array.shape.back();
  std::vector<int64_t> shape = array.shape;
  shape.back() = k;
  Tensor x = Tensor::empty(act_type, shape);
  const TensorView in(const_cast<uint8_t*>(array.data.data()), source,
                      std::span<const int64_t>(array.shape));
  for (int64_t row = 0; row < x.view().rows(); ++row)
    for (int64_t c = 0; c < k; ++c)
      store_value(x, row * k + c, load_value(in, row * width + k0 + c));
  return x;
}

// The output may not replace what the run reads: the input or any file of the checkpoint (the
// same file under another name or through a link included).
void refuse_overwriting_inputs(const std::string& output, const std::string& input,
                               const checkpoint::Checkpoint& ckpt) {
  std::vector<std::string> inputs = ckpt.paths();
  inputs.push_back(input);
  for (const std::string& path : inputs) {
    std::error_code error;
    require(!std::filesystem::equivalent(output, path, error), "--output ", output, " is ", path,
            ", which this run reads; name another file");
  }
}

// Writes y for the input x, and says once when it holds NaN or infinity. IEEE arithmetic makes
// every output of a token whose x holds NaN or infinity NaN or infinite (infinity times a zero
// weight is NaN); a kernel that quantizes activations to a type without them (int8, e4m3 and
// e2m1 saturate) gives finite numbers there, so those outputs are written as NaN.
void write_output(const Tensor& y, const Tensor& x, const std::string& output) {
  std::vector<float> values(static_cast<size_t>(y.numel()));
  const int64_t tokens = x.view().rows();
  const int64_t k = tokens ? x.numel() / tokens : 0, n = tokens ? y.numel() / tokens : 0;
  int64_t non_finite = 0;
  for (int64_t t = 0; t < tokens; ++t) {
    bool x_finite = true;
    for (int64_t i = t * k; i < (t + 1) * k && x_finite; ++i)
      x_finite = std::isfinite(load_value(x, i));
    for (int64_t i = t * n; i < (t + 1) * n; ++i) {
      values[i] = static_cast<float>(load_value(y, i));
      if (!x_finite && std::isfinite(values[i]))
        values[i] = std::numeric_limits<float>::quiet_NaN();
      non_finite += !std::isfinite(values[i]);
    }
  }
  write_npy_f32(output, {y.shape().begin(), y.shape().end()}, values);
  if (non_finite > 0)
    std::fprintf(stderr, "qlinear: warning: %lld of the %lld output values are NaN or infinite\n",
                 static_cast<long long>(non_finite), static_cast<long long>(y.numel()));
}

// Every rank of a size-`size` split, one thread each; returns rank 0's output (on the CPU) and
// the name of its kernel.
std::pair<Tensor, std::string> run_all_ranks(const checkpoint::CheckpointLayer& layer,
                                             checkpoint::Split split, int size,
                                             const Tensor& x_host, const Platform& platform,
                                             const ChooseOptions& options) {
  const ThreadGroup group(size, platform.kind == PlatformKind::cuda);
  std::vector<Tensor> outputs(size);
  std::vector<std::string> kernels(size);
  group.run([&](int r, Device device, std::shared_ptr<Communicator> communicator) {
    const Tensor x = on_device(x_host, device);
    if (split == checkpoint::Split::columns) {
      const ColumnParallelLinear linear(layer, communicator, device, true, options);
      outputs[r] = Tensor::copy_of(linear.forward(x), Device::cpu());
      kernels[r] = linear.shard().kernel().name();
    } else {
      const RowParallelLinear linear(layer, communicator, device, options);
      outputs[r] = Tensor::copy_of(linear.forward(x), Device::cpu());
      kernels[r] = linear.shard().kernel().name();
    }
  });
  return {outputs[0], kernels[0]};
}

}  // namespace

void add_run(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("run", "run one layer of a checkpoint on a .npy input");
  static std::string model, layer_name, input, output, kernel, device_text = "default", split_text;
  static int tp_rank = -1, tp_size = 1;
  static bool bf16_input = false;
  command->add_option("--model", model, "checkpoint folder")->required();
  command->add_option("--layer", layer_name, "module prefix, e.g. model.layers.0.mlp.down_proj")
      ->required();
  command
      ->add_option("--input", input,
                   "x as .npy [..., K]: float32, float16, or uint16 with --input-bf16")
      ->required();
  command->add_option("--output", output, "y as float32 .npy [..., N]")->required();
  command->add_option("--kernel", kernel, "force this kernel");
  command->add_option("--device", device_text,
                      "cpu, cuda, cuda:N or default (the GPU if there is one)");
  command
      ->add_option("--tp-rank", tp_rank,
                   "run only this tensor-parallel rank's shard (its partial output)")
      ->check(CLI::Range(0, kMaxTensorParallelSize - 1));
  command
      ->add_option("--tp-size", tp_size,
                   "tensor-parallel size; without --tp-rank every rank runs and y is whole")
      ->check(CLI::Range(1, kMaxTensorParallelSize));
  command
      ->add_option("--tp-split", split_text,
                   "columns (outputs concatenate) or rows (outputs sum; bias on rank 0); default "
                   "from the layer name")
      ->check(CLI::IsMember({"columns", "rows"}));
  command->add_flag("--input-bf16", bf16_input, "the uint16 input holds bfloat16 bits");
  command->callback([&exit_code] {
    using namespace checkpoint;
    const Checkpoint ckpt = Checkpoint::open(model);
    refuse_overwriting_inputs(output, input, ckpt);
    const Platform platform = target_platform(device_text);
    TensorParallel tp;
    tp.split = split_text.empty()     ? default_split(layer_name)
               : split_text == "rows" ? Split::rows
                                      : Split::columns;
    tp.rank = tp_rank < 0 ? 0 : tp_rank;
    tp.size = tp_size;
    ChooseOptions options;
    options.force = kernel;
    if (tp_rank < 0 && tp_size > 1) {
      const CheckpointLayer layer = serve_on(load_layer(ckpt, layer_name), platform, kernel);
      split_layer(layer, tp);  // refuses a size that does not divide the layer before any thread
      const NpyArray array = read_npy(input);
      const int64_t width = array.shape.empty() ? 0 : array.shape.back();
      require(width == layer.config.k, input, ": x has K = ", width,
              "; the layer takes K = ", layer.config.k);
      const Tensor x = activations(array, bf16_input, layer.config.act_type, 0, width, input);
      const auto [y, kernel_name] = run_all_ranks(layer, tp.split, tp_size, x, platform, options);
      write_output(y, x, output);
      std::printf(
          "layer:  %s (%s)\nconfig: %s\nsplit:  %s over %d ranks (%s)\nkernel: %s (rank 0)\n"
          "output: %s\n",
          layer.name.c_str(), layer.format.c_str(), layer.config.describe().c_str(),
          std::string(name(tp.split)).c_str(), tp_size,
          platform.kind == PlatformKind::cuda ? "NCCL, one GPU each" : "threads, CPU",
          kernel_name.c_str(), output.c_str());
      exit_code = 0;
      return;
    }
    // One rank (or none): only its part is read from the checkpoint, then served, as a
    // ColumnParallelLinear / RowParallelLinear rank serves it.
    const Codes codes = platform.device().is_cpu() ? Codes::as_stored : Codes::canonical;
    const CheckpointLayer layer =
        serve_on(load_layer(ckpt, layer_name, tp, codes), platform, kernel);
    const LayerConfig& c = layer.config;

    const NpyArray array = read_npy(input);
    const int64_t width = array.shape.empty() ? 0 : array.shape.back();
    // A row-parallel rank takes its slice of x; given the full x, it cuts the slice itself.
    const bool full_x = tp.split == Split::rows && tp.size > 1 && width == c.k;
    require(width == c.part_k() || full_x, input, ": x has K = ", width, "; the layer ",
            tp.size > 1 ? "partition " : "", "takes K = ", c.part_k(),
            full_x ? "" : cat(" (or the full ", c.k, ")"));
    const Tensor x_host = activations(array, bf16_input, c.act_type,
                                      full_x ? tp.rank * c.part_k() : 0, c.part_k(), input);

    const Device device = platform.device();
    CheckpointLayer on = layer;
    for (Tensor* t : {&on.weight, &on.weight_scale, &on.weight_zero_point, &on.weight_global_scale,
                      &on.g_idx, &on.input_scale, &on.input_zero_point, &on.bias})
      *t = on_device(*t, device);
    const QuantizedLinear linear(c, on.weights(), device, options);
    const Tensor y =
        Tensor::copy_of(linear.forward(on_device(x_host, device), on.bias), Device::cpu());

    write_output(y, x_host, output);
    std::printf("layer:  %s (%s)\nconfig: %s\nkernel: %s on %s\noutput: %s\n", layer.name.c_str(),
                layer.format.c_str(), c.describe().c_str(), linear.kernel().name().c_str(),
                device.str().c_str(), output.c_str());
    exit_code = 0;
  });
}

}  // namespace qlinear::tool
