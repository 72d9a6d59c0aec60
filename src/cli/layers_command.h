#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "common_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz layers`: every module path, to pick a --layer.
struct LayersOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> dtypes;
  std::string format = "text";
  CommonOptions common;
};

CLI::App* add_layers_command(CLI::App& app, LayersOptions& options);
void run_layers_command(const LayersOptions& options);

}  // namespace cnnviz::cli
