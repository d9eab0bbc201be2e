// `qlinear bench --load-model DIR`: how fast a checkpoint becomes layers ready to run.
#pragma once

#include <string>

#include "qlinear/tensor.hpp"

namespace qlinear::tool {

// Opens the checkpoint (headers parsed, files mapped), converts every quantized layer to the
// canonical layout (load_layer) and prepares it for `device` (QuantizedLinear: the kernel's
// process_weights) and keeps it, as a model does, each phase timed apart, after one untimed pass
// that brings the files into the page cache; prints GB/s of checkpoint bytes beside the read
// bandwidth of the device's memory and, with `json_path`, writes the record. With tp_size > 1, each
// layer is rank tp_rank's shard of its default split (checkpoint::default_split), read from the
// files alone (load_layer with the rank's TensorParallel); the weights counted are the rank's.
// Returns the exit code.
int bench_checkpoint_load(const std::string& directory, Device device, int tp_size, int tp_rank,
                          const std::string& json_path, const std::string& note);

}  // namespace qlinear::tool
