#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "common_options.h"
#include "image_options.h"
#include "target_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz saliency`: which pixels a class score is most sensitive to.
struct SaliencyOptions {
  std::string model;
  std::string image;
  TargetOptions target;
  std::string method = "vanilla";
  std::string reduce = "abs-max";
  std::string scale = "minmax";
  int samples = 50;
  float noise = 0.15f;
  uint64_t seed = 0;
  int batch_size = 16;
  std::string output;
  std::string heatmap;
  std::string raw;
  std::string gradient;
  float image_weight = 0.5f;
  std::string colormap = "viridis";
  std::string labels;
  std::string format = "text";
  ImageOptions image_options;
  CommonOptions common;
};

CLI::App* add_saliency_command(CLI::App& app, SaliencyOptions& options);
void run_saliency_command(const SaliencyOptions& options);

}  // namespace cnnviz::cli
