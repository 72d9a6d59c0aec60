#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "common_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz kernels`: a convolution layer's filters as a PNG grid (or its raw weights).
struct KernelsOptions {
  std::string model;
  std::string layer;
  std::string output;
  std::string filters;   ///< "0-15,20"; empty: all
  std::string channels;  ///< empty: all
  std::string colormap = "bwr";
  int scale = 0;         ///< 0: about 24 pixels per kernel
  int cols = 0;
  int pad = 6;  ///< white gaps wide enough to tell white (zero) kernel elements from padding
  std::string format = "png";
  std::string scale_by = "kernel";  ///< --normalize kernel|layer
  CommonOptions common;
};

CLI::App* add_kernels_command(CLI::App& app, KernelsOptions& options);
void run_kernels_command(const KernelsOptions& options);

}  // namespace cnnviz::cli
