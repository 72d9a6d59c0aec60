#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "common_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz diff`: both models are summarised as `cnnviz summary` does, with the same inputs.
struct DiffOptions {
  std::string old_model;
  std::string new_model;
  std::vector<std::string> inputs;    ///< --input, one per forward argument (both models)
  std::vector<std::string> dtypes;    ///< --dtype: none, one for all inputs, or one per input
  int depth = 3;                      ///< rows of depth 1 to this are compared
  std::string format = "text";
  std::vector<std::string> tolerate;  ///< --tolerate: renames, params:R, mult-adds:R
  bool load = false;                  ///< --load: load both models with LibTorch even where the files answer
  CommonOptions common;
};

CLI::App* add_diff_command(CLI::App& app, DiffOptions& options);
void run_diff_command(const DiffOptions& options);

}  // namespace cnnviz::cli
