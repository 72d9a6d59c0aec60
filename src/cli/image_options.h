#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cnnviz/float_array.h"
#include "cnnviz/image.h"
#include "cnnviz/model.h"
#include "cnnviz/preprocess.h"

namespace cnnviz::cli {

/// Options of every command that feeds an image to a model: size, resizing and normalisation.
struct ImageOptions {
  std::string input;          ///< --input, e.g. 1,3,224,224 (default: 1,3,224,224)
  int64_t resize = 0;         ///< --resize N: shorter side to N, then centre crop
  int64_t crop = 0;           ///< --crop N: the crop (and input) size
  std::string interpolation = "bilinear";
  std::vector<float> mean;    ///< default ImageNet's
  std::vector<float> std;
  bool no_normalize = false;
  int64_t max_pixels = 0;     ///< 0: the default decompression-bomb limit
};

void add_image_options(CLI::App& app, ImageOptions& options);

/// The preprocessing the options describe (validated; Error(kUsage) otherwise).
PreprocessOptions preprocess_options(const ImageOptions& options);

/// The decoding limits the options describe.
ImageLimits image_limits(const ImageOptions& options);

}  // namespace cnnviz::cli
