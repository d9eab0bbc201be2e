// What the checkpoint fuzzers do with a folder: open it, convert every quantized layer and split
// it for each rank of two, both ways, and read each rank's part alone from the files. A
// qlinear::Error at any step is a refusal and fine; any other exception escapes and aborts the
// fuzzer, which reports the input.
#pragma once

#include <string>

#include "qlinear/checkpoint.hpp"
#include "qlinear/error.hpp"

inline void convert_every_layer(const std::string& directory) {
  using namespace qlinear::checkpoint;
  try {
    const Checkpoint c = Checkpoint::open(directory);
    for (const auto& layer : linear_layers(c)) {
      if (is_unquantized(c, layer)) continue;
      try {
        const CheckpointLayer l = load_layer(c, layer);
        for (Split s : {Split::columns, Split::rows})
          for (int r = 0; r < 2; ++r) try {
              split_layer(l, {s, r, 2});
            } catch (const qlinear::Error&) {
            }
      } catch (const qlinear::Error&) {
      }
      for (Split s : {Split::columns, Split::rows})
        for (int r = 0; r < 2; ++r) try {
            load_layer(c, layer, {s, r, 2});
          } catch (const qlinear::Error&) {
          }
    }
  } catch (const qlinear::Error&) {
  }
}
