#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "common_options.h"
#include "image_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz features`: what a layer makes of an image, as a PNG grid of its channels.
struct FeaturesOptions {
  std::string model;
  std::string image;
  std::string layer;
  std::string output;
  std::string all_layers;  ///< directory: one grid per convolution layer
  std::string channels;    ///< "0-15"; empty: the first 16
  int top = 0;
  std::string colormap = "gray";
  int cols = 0;
  int pad = 1;
  int scale = 1;
  std::string format = "png";
  ImageOptions image_options;
  CommonOptions common;
};

CLI::App* add_features_command(CLI::App& app, FeaturesOptions& options);
void run_features_command(const FeaturesOptions& options);

}  // namespace cnnviz::cli
