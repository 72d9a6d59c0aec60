#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/capture.h"
#include "cnnviz/float_array.h"
#include "cnnviz/model.h"

namespace cnnviz {

/// Class-activation-map methods, as pytorch-grad-cam 1.5 names and computes them.
enum class CamMethod {
  kGradCam,
  kGradCamPlusPlus,
  kXGradCam,
  kLayerCam,
  kHiResCam,
  kEigenCam,
  kGradCamElementWise,
  kScoreCam,
};

/// One row of the method table: what `--method` accepts, what --help and docs say, and what the method
/// costs. The table in cam.cc pairs each row with its map step; a new method is one row there, one
/// function and one test row (docs/architecture.md, "Adding a CAM method").
struct CamMethodInfo {
  CamMethod method;
  std::string name;        ///< the --method value, pytorch-grad-cam's class name in lower case
  std::string paper;       ///< where the formula comes from
  bool needs_gradients;    ///< one backward of the target per rank
  bool extra_forwards;     ///< forwards beyond the first (ScoreCAM: one per channel of the layer)
};

/// Every method in enum order.
const std::vector<CamMethodInfo>& cam_methods();
/// The names of cam_methods(), in enum order ("gradcam", "gradcam++", ...).
const std::vector<std::string>& cam_method_names();
/// Throws Error(kUsage) listing the methods.
CamMethod parse_cam_method(std::string_view name);

/// What to explain.
struct CamRequest {
  int layer = -1;                   ///< ModuleTree node of the target layer
  std::optional<int> target_class;  ///< default: the top-1 class
  int top_k = 0;                    ///< > 0: explain each image's k best classes instead (one forward, k backwards)
  CamMethod method = CamMethod::kGradCam;
  int64_t max_memory_bytes = 0;     ///< the memory guard's limit (0: none), as for capture_module_calls
  /// The caller has run check_image_forward for this batch: the first forward is not guarded again
  /// (ScoreCAM's masked batches still are).
  bool input_checked = false;
};

/// One explained image.
struct CamResult {
  FloatArray map;              ///< [H, W] in [0, 1] at the input's resolution
  FloatArray low_res;          ///< [h, w]: the layer's map after ReLU and min-max, before resizing
  std::vector<float> scores;   ///< the model's output row [K] (logits)
  int target_class = 0;
  std::vector<std::string> notes;  ///< for the user (e.g. why no memory estimate was made)
};

/// The layer pytorch-grad-cam users pick when they do not choose one, found by torch-cam's rule: the
/// module that returns last with an output [N, C, H, W] where H or W > 1 (resnet18: layer4). Picked
/// from `calls` when given (the memory guard's dry run: MemoryCheck::calls), else from a forward of
/// `input`. Throws Error(kModel) if none is.
int auto_cam_layer(Model& model, const FloatArray& input, const std::vector<ModuleCall>& calls = {});

/// Computes the map for a [1, C, H, W] input, exactly as pytorch-grad-cam 1.5 does: per-method weights,
/// ReLU, min-max with eps 1e-7, bilinear resize to H x W (align_corners=False, as cv2.resize), ReLU and
/// min-max again (an all-negative map gives zeros). Gradients are taken with respect to the layer's own
/// output only (autograd records nothing below it), even when an in-place op follows the layer.
/// Throws Error: kResource (memory guard), kUsage (class out of range), kData (output not [N, K], layer output not spatial),
/// kModel (layer did not run, no gradient path from the class score to the layer), kExecution.
CamResult compute_cam(Model& model, const FloatArray& input, const CamRequest& request);

/// compute_cam for a batch [N, C, H, W] in one forward and one backward: image i explains classes[i]
/// (request.target_class when `classes` is shorter, else its top-1 class). With request.top_k = k > 0
/// it explains each image's k best classes instead, with one backward per rank from the same forward,
/// and returns N * k results: image i's rank-r map (r = 0 is the best class) at i * k + r. ScoreCAM runs
/// its masked forwards `score_batch_size` at a time (the first batch behind the memory guard).
std::vector<CamResult> compute_cams(Model& model, const FloatArray& batch, const CamRequest& request,
                                    const std::vector<std::optional<int>>& classes, int score_batch_size = 16);

}  // namespace cnnviz
