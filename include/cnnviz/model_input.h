#pragma once

// An image made ready for a model, behind the memory guard: the one way every image command (features,
// gradcam, saliency, maximize's start image) turns a decoded picture into a model input.

#include <cstdint>
#include <string>
#include <vector>

#include "cnnviz/capture.h"
#include "cnnviz/float_array.h"
#include "cnnviz/image.h"
#include "cnnviz/model.h"
#include "cnnviz/preprocess.h"

namespace cnnviz {

/// One image as a model takes it.
struct ModelImage {
  Image seen;        ///< the picture the model sees (converted, resized, cropped; 8-bit): overlays go on it
  FloatArray input;  ///< its input [1, C, H, W] float32 (ToTensor, Normalize)
};

/// How one forward of images is counted by the memory guard.
struct ImageForward {
  int64_t max_memory_bytes = 0;  ///< the limit (0: no guard)
  int64_t batch = 1;             ///< images per forward
  int gradient_from = -1;        ///< as for check_capture_memory: a gradient run from this node (0: the root)
};

/// The memory guard before preprocessing: refuses (Error kResource) when preprocessing `image` to
/// `pre`'s size (`forward.batch` such images, each kept as an 8-bit picture too) plus one forward of
/// them would take more than forward.max_memory_bytes, so an absurd --input is refused before anything
/// is resized. With a limit of 0 it checks nothing and returns an empty MemoryCheck. After it, the
/// forward itself needs no guard of its own (CaptureOptions::dry_run = false, max_memory_bytes = 0).
MemoryCheck check_image_forward(Model& model, const Image& image, const PreprocessOptions& pre, const ImageForward& forward);

/// `image` resized, cropped and normalised as `pre` says (torchvision's PIL pipeline). With
/// max_memory_bytes > 0, refuses (Error kResource) first when preprocessing alone would take more,
/// naming `name` (the image's file).
ModelImage prepare_image(const Image& image, const PreprocessOptions& pre, int64_t max_memory_bytes = 0,
                         const std::string& name = "the image");

}  // namespace cnnviz
