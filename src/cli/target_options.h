#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cnnviz/image.h"
#include "cnnviz/model.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/target.h"
#include "image_options.h"

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

/// A detector (Model::takes_image_list: torchvision's forward(images: List[Tensor])) resizes and
/// normalises each image itself: unless the image options say otherwise, `pre` takes the picture at its
/// own size in [0, 1] (as pytorch-grad-cam's detection tutorial feeds it), with a note; and unless the
/// target options say otherwise, `target` becomes its best detection (box). Nothing for other models.
void adapt_to_detector(const Model& model, const std::string& model_path, const Image& image, const ImageOptions& image_options,
                       const TargetOptions& options, PreprocessOptions& pre, Target& target);

}  // namespace cnnviz::cli
