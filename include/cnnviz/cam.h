#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/capture.h"
#include "cnnviz/float_array.h"
#include "cnnviz/model.h"
#include "cnnviz/target.h"

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
  kEigenGradCam,
  kFem,
  kRandomCam,
  kAblationCam,
  kKpcaCam,
  kFullGrad,
  kShapleyCam,
  kFinerCam,
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

/// FinerCAM's settings, pytorch-grad-cam's defaults: the target class c is explained against the classes
/// whose scores are nearest to c's (FinerWeightedTarget): the score is
/// sum_j p_j (y_c - alpha y_j) / (sum_j p_j + 1e-9) over the classes j at the given ranks of |y - y_c|
/// (rank 0 is c itself), p = softmax(y), and `base` makes the map of that score's gradients.
struct FinerOptions {
  double alpha = 1;                       ///< how strongly the nearest classes are subtracted
  std::vector<int> comparisons = {1, 2, 3};  ///< ranks of the compared classes by |y_j - y_c|
  CamMethod base = CamMethod::kGradCam;   ///< a method whose map needs only the layer and its gradient
};

/// What to explain.
struct CamRequest {
  int layer = -1;                   ///< ModuleTree node of the target layer
  /// What to explain: the class score (--class K is target.index), softmax, a segmentation class over a
  /// mask, or one output; an unset index means each image's top-1 class (seg: its main class).
  Target target;
  /// How the layer's output is read as [N, C, h, w] (ViT tokens, Swin's channels-last): read_layout().
  Reshape reshape;
  int top_k = 0;                    ///< > 0: explain each image's k best classes instead (one forward, k backwards; class and softmax targets)
  /// pytorch-grad-cam's eigen_smooth: the weighted activations projected on their first principal
  /// component instead of summed over channels (methods that weigh activations; EigenCAM, EigenGradCAM
  /// and FEM ignore it, as there).
  bool eigen_smooth = false;
  /// pytorch-grad-cam's aug_smooth: the mean of the maps of 6 augmented inputs (no flip and a horizontal
  /// flip, times 0.9, 1 and 1.1: ttach's HorizontalFlip and Multiply), each flipped back. Not with top_k.
  bool aug_smooth = false;
  /// RandomCAM: numpy.random.seed(seed) before the draws (0 to 2^32 - 1).
  uint64_t seed = 0;
  CamMethod method = CamMethod::kGradCam;  ///< FullGrad ignores `layer` and `reshape`: it takes every Conv2d and BatchNorm2d
  FinerOptions finer;                      ///< FinerCAM only
  int64_t max_memory_bytes = 0;     ///< the memory guard's limit (0: none), as for capture_module_calls
  /// The caller has run check_image_forward for this batch: the first forward is not guarded again
  /// (ScoreCAM's masked batches still are).
  bool input_checked = false;
};

/// One explained image.
struct CamResult {
  FloatArray map;              ///< [H, W] in [0, 1] at the input's resolution
  FloatArray low_res;          ///< [h, w]: the layer's map after ReLU and min-max, before resizing
  std::vector<float> scores;   ///< the model's output row [K] (logits); empty for seg targets
  int target_class = 0;        ///< the class (or output) explained, resolved from top-1 or auto
  std::string target;          ///< the target as --target writes it, resolved: "class:24", "seg:15"
  float target_score = 0;      ///< the value of that target's score for this image (what was back-propagated)
  std::vector<Detection> detections;  ///< box targets: every detection the model returned for this image
  std::vector<std::string> notes;  ///< for the user (e.g. why no memory estimate was made)
};

/// The layer pytorch-grad-cam users pick when they do not choose one, found by torch-cam's rule: the
/// module that returns last with a spatial output under `reshape` (read_layout(): [N, C, H, W] where H
/// or W > 1, channels-last, or tokens of a grid; resnet18: layer4). When that output is tokens and the
/// model has attention modules (a class name containing "Attention"), the last token output returned
/// before the last attention module returns, outside any attention module, is picked instead
/// (ViT-B/16: encoder.layers.encoder_layer_11.ln_1, pytorch-grad-cam's advice: after the last
/// attention only the class token reaches the head, so the patch tokens' gradients there are zero).
/// A detector (Model::takes_image_list) with `reshape` auto or fpn gets, for a method without
/// `gradients`, its `backbone` (the dict of FPN maps pytorch-grad-cam's detection tutorial explains);
/// for the others, the rule above inside `backbone.body` (torchvision's feature extractor: layer4).
/// Picked from `calls` when given (the memory guard's dry run: MemoryCheck::calls), else from a
/// forward of `input`. Throws Error(kModel) if none is.
int auto_cam_layer(Model& model, const FloatArray& input, const std::vector<ModuleCall>& calls = {}, const Reshape& reshape = {},
                   bool gradients = true);

/// Computes the map for a [1, C, H, W] input, exactly as pytorch-grad-cam 1.5 does: per-method weights,
/// ReLU, min-max with eps 1e-7, bilinear resize to H x W (align_corners=False, as cv2.resize), ReLU and
/// min-max again (an all-negative map gives zeros). Gradients are taken with respect to the layer's own
/// output only (autograd records nothing below it), even when an in-place op follows the layer; FullGrad
/// instead takes them at the input and at every bias layer's own output (as pytorch-grad-cam's FullGrad).
/// The layer's output and its gradient are read as [N, C, h, w] by read_layout(request.reshape) first,
/// as pytorch-grad-cam's reshape_transform is applied to both; a note says how when it is not NCHW.
/// Throws Error: kResource (memory guard), kUsage (class out of range, a reshape that does not fit the
/// layer, top-k, ScoreCAM or FinerCAM with a target they do not take, FinerCAM's settings), kData (output does not fit the target,
/// layer output not spatial, empty seg mask), kModel (layer did not run, no gradient path from the
/// score to the layer, an operator without a derivative on that path), kExecution.
CamResult compute_cam(Model& model, const FloatArray& input, const CamRequest& request);

/// compute_cam for a batch [N, C, H, W] in one forward and one backward: image i explains index
/// classes[i] of the request's target kind (request.target.index when `classes` is shorter, else its
/// default_index: top-1 class, seg's auto class). With request.top_k = k > 0
/// it explains each image's k best classes instead, with one backward per rank from the same forward,
/// and returns N * k results: image i's rank-r map (r = 0 is the best class) at i * k + r. ScoreCAM runs
/// its masked forwards `score_batch_size` at a time (the first batch behind the memory guard).
std::vector<CamResult> compute_cams(Model& model, const FloatArray& batch, const CamRequest& request,
                                    const std::vector<std::optional<int>>& classes, int score_batch_size = 16);

}  // namespace cnnviz
