#pragma once

// The image commands' pipelines as library functions: a decoded image and a request in, pictures'
// data out. Each runs the memory guard once (check_image_forward, before preprocessing), prepares the
// image (prepare_image) and runs its forward without a second guard. `cnnviz features`, `gradcam` and
// `saliency` parse options, call one of these, then render and write; batches are run_cam_batch's.

#include <map>
#include <string>
#include <vector>

#include "cnnviz/cam.h"
#include "cnnviz/float_array.h"
#include "cnnviz/image.h"
#include "cnnviz/model.h"
#include "cnnviz/model_input.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/saliency.h"

namespace cnnviz {

/// The maps of one image.
struct ImageCams {
  ModelImage image;              ///< what the model saw (overlays go on image.seen)
  int layer = -1;                ///< the layer explained (the auto choice when request.layer was -1)
  std::vector<CamResult> cams;   ///< one, or top_k by rank
  std::vector<std::string> notes;
};

/// compute_cams for one image: with request.layer -1, torch-cam's layer (auto_cam_layer), taken from the
/// guard's dry run. Errors as check_image_forward, prepare_image and compute_cams.
ImageCams run_cam_image(Model& model, const Image& image, const PreprocessOptions& pre, CamRequest request, int score_batch_size = 16);

/// The saliency of one image.
struct ImageSaliency {
  ModelImage image;
  SaliencyResult saliency;
  std::vector<std::string> notes;
};

/// compute_saliency for one image (the guard counts SmoothGrad's batch of noisy copies).
ImageSaliency run_saliency_image(Model& model, const Image& image, const PreprocessOptions& pre, SaliencyRequest request);

/// The feature maps of one image.
struct ImageFeatures {
  std::map<int, FloatArray> outputs;  ///< node -> its first call's output; a layer that did not run is absent
  std::vector<std::string> notes;
};

/// One forward of the image, keeping the outputs of `layers` (ModuleTree nodes).
ImageFeatures run_feature_maps(Model& model, const Image& image, const PreprocessOptions& pre, const std::vector<int>& layers,
                               int64_t max_memory_bytes);

}  // namespace cnnviz
