#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cnnviz/target.h"

namespace cnnviz::cli {

/// What the commands that take gradients explain: --class K, or --target in full.
struct TargetOptions {
  std::optional<int> target_class;
  std::string target;  ///< --target text; empty: class (top-1 unless --class)
};

/// Adds --class and --target (which exclude each other); returns the --class option.
CLI::Option* add_target_options(CLI::App& app, TargetOptions& options);

/// The target the options describe (Error(kUsage) for a malformed --target).
Target target_of(const TargetOptions& options);

}  // namespace cnnviz::cli
