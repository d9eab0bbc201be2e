// Command-line flags that describe a layer config, shared by the subcommands that take one.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "qlinear/config.hpp"

namespace qlinear::tool {

class ConfigFlags {
 public:
  // Adds --family, --n, --k, --weight-type, ... to `command`.
  void add_to(CLI::App& command);
  // The family's default config with every given flag applied, validated.
  LayerConfig config() const;

 private:
  std::string family_ = "mixed_precision";
  int64_t n_ = 4096, k_ = 4096, partition_n_ = 0, partition_k_ = 0;
  std::string weight_type_, weight_scale_, weight_scale_type_, act_type_, act_quant_, act_scale_,
      out_type_;
  int64_t group_size_ = -1, block_n_ = -1, act_group_size_ = -1;
  bool zero_points_ = false, act_order_ = false, act_static_ = false, azp_ = false, bias_ = false;
};

}  // namespace qlinear::tool
