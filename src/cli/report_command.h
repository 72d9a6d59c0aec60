#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "common_options.h"
#include "image_options.h"
#include "target_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz report`: one self-contained HTML page of a model and its images.
struct ReportOptions {
  std::string model;
  std::vector<std::string> images;
  std::string output;
  std::vector<std::string> layers;                 ///< kernels and feature maps of these (empty: every convolution)
  std::vector<std::string> methods = {"gradcam"};  ///< the CAM gallery's rows
  int top_k = 3;                                   ///< its columns, unless --class/--target
  TargetOptions target;
  std::string layer = "auto";                      ///< the CAMs' layer
  std::string reshape = "auto";
  std::string saliency = "vanilla";                ///< or "none"
  std::vector<std::string> metrics;
  std::vector<double> road_percentiles;
  uint64_t seed = 0;
  int channels = 16;        ///< feature-map channels per layer
  int max_filters = 0;      ///< kernels: filters per layer (0: 64 for a first layer in colour, 16 otherwise)
  int max_channels = 16;    ///< kernels: input channels per filter
  double max_size = 20;     ///< MB (10^6 bytes)
  bool flops = false;
  std::string labels;
  std::string colormap = "jet";
  float image_weight = 0.5f;
  float box_threshold = 0.5f;  ///< detectors: detections listed and outlined from this score
  ImageOptions image_options;
  CommonOptions common;
  std::vector<std::string> argv;  ///< the whole command line, for the page's header (set by main)
};

CLI::App* add_report_command(CLI::App& app, ReportOptions& options);
void run_report_command(const ReportOptions& options);

}  // namespace cnnviz::cli
