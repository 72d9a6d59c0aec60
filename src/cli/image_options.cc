#include "image_options.h"

#include "common_options.h"

#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/input_spec.h"

namespace cnnviz::cli {

void add_image_options(CLI::App& app, ImageOptions& o) {
  app.add_option("--input", o.input, "Model input shape N,C,H,W with N = 1 and C = 1 or 3 (default 1,3,224,224)");
  app.add_option("--resize", o.resize, "Resize the shorter side to N, then centre-crop to the input size (torchvision)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_option("--crop", o.crop, "Crop size after --resize (sets H and W when --input is not given)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_option("--interpolation", o.interpolation, "Resampling: " + value_list(interpolation_names()) + " (bilinear as torchvision, bicubic as PIL's resize)")
      ->capture_default_str();
  app.add_option("--mean", o.mean, "Per-channel mean (default ImageNet's 0.485,0.456,0.406)")->delimiter(',');
  app.add_option("--std", o.std, "Per-channel std (default ImageNet's 0.229,0.224,0.225)")->delimiter(',');
  app.add_flag("--no-normalize", o.no_normalize, "Feed pixel values in [0, 1] without mean/std");
  app.add_option("--max-pixels", o.max_pixels, "Refuse images with more pixels (default 89478485, Pillow's limit)")->check(CLI::PositiveNumber);
}

PreprocessOptions preprocess_options(const ImageOptions& o) {
  PreprocessOptions p;
  p.interpolation = parse_interpolation(o.interpolation);
  p.resize = o.resize;
  if (!o.input.empty()) {
    const std::vector<int64_t> shape = parse_input_shape(o.input);
    if (shape.size() != 4 || shape[0] != 1 || (shape[1] != 1 && shape[1] != 3)) {
      throw Error::usage("--input '" + o.input + "': an image feeds an input of shape 1,C,H,W with C = 1 or 3");
    }
    p.channels = shape[1];
    p.height = shape[2];
    p.width = shape[3];
    if (o.crop && (o.crop != p.height || o.crop != p.width)) {
      throw Error::usage("--crop " + std::to_string(o.crop) + " disagrees with --input '" + o.input + "'");
    }
  } else if (o.crop) {
    p.height = p.width = o.crop;
  }
  if (o.crop && !o.resize) throw Error::usage("--crop needs --resize (torchvision's Resize then CenterCrop)");
  for (const auto* values : {&o.mean, &o.std}) {
    if (!values->empty() && values->size() != static_cast<std::size_t>(p.channels)) {
      throw Error::usage(std::string(values == &o.mean ? "--mean" : "--std") + " needs " + std::to_string(p.channels) +
                         " comma-separated values, one per input channel");
    }
  }
  if (p.channels == 1) {
    // ImageNet's statistics are per colour channel; a gray input defaults to their averages.
    p.mean[0] = (0.485f + 0.456f + 0.406f) / 3;
    p.std[0] = (0.229f + 0.224f + 0.225f) / 3;
  }
  for (std::size_t c = 0; c < o.mean.size(); ++c) p.mean[c] = o.mean[c];
  for (std::size_t c = 0; c < o.std.size(); ++c) p.std[c] = o.std[c];
  p.normalize = !o.no_normalize;
  return p;
}

ImageLimits image_limits(const ImageOptions& o) {
  ImageLimits limits;
  if (o.max_pixels > 0) limits.max_pixels = o.max_pixels;
  return limits;
}

}  // namespace cnnviz::cli
