#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "common_options.h"
#include "image_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz maximize`: images that excite chosen filters, by gradient ascent (FlashTorch's
/// GradientAscent).
struct MaximizeOptions {
  std::string model;
  std::string layer;
  std::string filters = "0-3";
  std::string output;
  std::string raw;
  int steps = 30;
  float lr = 1.0f;
  uint64_t seed = 0;
  ImageOptions image_options;  ///< only --input, --mean, --std and --no-normalize are offered
  int cols = 0;
  int pad = 2;
  int scale = 1;
  std::string format = "text";
  CommonOptions common;
};

CLI::App* add_maximize_command(CLI::App& app, MaximizeOptions& options);
void run_maximize_command(const MaximizeOptions& options);

}  // namespace cnnviz::cli
