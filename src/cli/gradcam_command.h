#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common_options.h"
#include "image_options.h"
#include "target_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz gradcam`: where a classifier looks, as a heatmap over the image.
struct GradcamOptions {
  std::string model;
  std::string image;
  TargetOptions target;
  std::string reshape = "auto";
  int top_k = 0;           ///< > 0: explain the k best classes, outputs named <stem>.top<rank><ext>
  std::string layer = "auto";
  std::string method = "gradcam";
  bool eigen_smooth = false;
  bool aug_smooth = false;
  uint64_t seed = 0;       ///< RandomCAM's numpy seed, ROAD's torch seed
  double finer_alpha = 1;  ///< FinerCAM: pytorch-grad-cam's alpha
  std::vector<int> finer_compare = {1, 2, 3};  ///< FinerCAM: pytorch-grad-cam's comparison_categories
  std::string finer_base = "gradcam";          ///< FinerCAM: pytorch-grad-cam's base_method
  std::vector<std::string> metrics;  ///< --metrics change,drop,increase,road-most,road-least,road
  std::vector<double> road_percentiles;  ///< --road-percentiles (empty: pytorch-grad-cam's defaults)
  std::string output;
  std::string heatmap;
  std::string raw;
  float image_weight = 0.5f;
  std::string colormap = "jet";
  std::string labels;
  bool draw_boxes = false;        ///< detectors: outline the detections on the overlay
  float box_threshold = 0.5f;     ///< detectors: the score from which detections are listed and drawn
  std::string format = "text";
  int batch_size = 16;     ///< images per forward in batch mode; ScoreCAM's masked inputs per forward
  std::string shard;       ///< "I/N": this process takes every N-th image from the I-th
  bool overwrite = false;
  bool index = false;      ///< batch mode: also write OUTDIR/index.html listing the overlays
  std::vector<std::string> argv;  ///< the whole command line, for the index page (set by main)  ///< batch mode: redo images whose output exists
  ImageOptions image_options;
  CommonOptions common;
};

CLI::App* add_gradcam_command(CLI::App& app, GradcamOptions& options);
void run_gradcam_command(const GradcamOptions& options);

}  // namespace cnnviz::cli
