// The subcommands of the `qlinear` tool; each file adds one to the app and runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "qlinear/platform.hpp"

namespace qlinear::tool {

// The platform a --target or --device flag names: a named target ("cuda:sm_80", "cpu:avx2"), a
// device of this machine ("cpu", "cuda:0"), or "default"/empty: the first GPU if any, else the CPU.
Platform target_platform(const std::string& target);

// "2026-12-06T02:15:00Z", for the records of a run.
std::string utc_now();

// Each returns the exit code through `exit_code` when its subcommand ran.
void add_env(CLI::App& app, int& exit_code);
void add_kernels(CLI::App& app, int& exit_code);
void add_select(CLI::App& app, int& exit_code);
void add_check(CLI::App& app, int& exit_code);
void add_bench(CLI::App& app, int& exit_code);
void add_tune(CLI::App& app, int& exit_code);
void add_run(CLI::App& app, int& exit_code);
void add_inspect(CLI::App& app, int& exit_code);

}  // namespace qlinear::tool
