#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/float_array.h"
#include "cnnviz/image.h"

namespace cnnviz {

/// Resampling filter for resizing, as PIL names them.
enum class Interpolation { kBilinear, kBicubic, kNearest };

/// "bilinear", "bicubic", "nearest", in enum order.
const std::vector<std::string>& interpolation_names();
/// Throws Error(kUsage) listing the valid names.
Interpolation parse_interpolation(std::string_view name);

/// How an image becomes a model input, following torchvision's transforms.
struct PreprocessOptions {
  int64_t channels = 3;  ///< 3: RGB (a gray image is repeated); 1: luminance, PIL's convert("L")
  int64_t height = 224;  ///< output size
  int64_t width = 224;
  /// 0: resize straight to height x width (the seed's img.resize((224, 224))); N > 0: torchvision's
  /// Resize(N) (shorter side to N, the longer one int(N * long / short)), then CenterCrop to
  /// height x width.
  int64_t resize = 0;
  Interpolation interpolation = Interpolation::kBilinear;  ///< torchvision's default
  bool normalize = true;  ///< (x - mean) / std after scaling to [0, 1]
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  ///< ImageNet's
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};

/// The image as the model sees it before ToTensor: converted to `channels`, resized (and cropped)
/// exactly like torchvision's PIL pipeline; 8-bit, height x width. Overlays are drawn on it.
Image resize_for_model(const Image& image, const PreprocessOptions& options);

/// About the most memory resize_for_model and preprocess_image take for this image and these
/// options (the memory guard checks it before preprocessing). Saturates instead of overflowing.
int64_t preprocess_memory_bytes(const Image& image, const PreprocessOptions& options);

/// The model input for an image: [1, channels, height, width] float32. Resizing reimplements
/// Pillow's 8-bit resampling, so the result equals torchvision's PIL pipeline (Resize, CenterCrop,
/// ToTensor, Normalize) up to float rounding in the last step (tests/preprocess_test.cc). Torch-free.
/// Throws Error(kUsage) for sizes out of range, a crop larger than the resized image, or a std of 0.
FloatArray preprocess_image(const Image& image, const PreprocessOptions& options);

/// preprocess_image's last step on its own, for callers that keep the resized picture anyway (Grad-CAM
/// draws its overlay on it): ToTensor and Normalize of resize_for_model's result, which it must be
/// (Error kUsage otherwise, and for a std of 0).
FloatArray model_input_from_resized(const Image& resized, const PreprocessOptions& options);

}  // namespace cnnviz
