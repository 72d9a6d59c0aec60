#pragma once

// Private to libcnnviz: the target step the attribution methods share (pytorch-grad-cam 1.5's
// model_targets.py), the layout step of the CAMs (its reshape_transform), and min-max scaling.

#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

#include "cnnviz/target.h"
#include "model/model_impl.h"

namespace cnnviz {

/// The tensor `target` reads from the model's output: a dict's "out" entry (torchvision's segmentation
/// models), else the first tensor (torchinfo's rule). Error(kData) when its shape does not fit the
/// target kind: [N, K] for class and softmax, [N, K, H, W] for seg, [N] or [N, M] for output; the
/// message says that `explainers` ("CAMs", "saliency maps") need it and which target fits instead.
const at::Tensor& target_output(const Model::Impl& impl, const c10::IValue& output, int64_t n, const Target& target,
                                const std::string& explainers);

/// Image i's index when none is given: its top-1 class (class, softmax); the arg-max class covering
/// the most pixels other than class 0, the background (seg; Error(kData) when every pixel is
/// background); 0 (output). `row` is out[i].
int64_t default_index(const at::Tensor& row, const Target& target);

/// Error(kUsage) unless `index` is a class (or output) of `out`, naming --target (or --class) and the range.
void check_target_index(const at::Tensor& out, const Target& target, int64_t index);

/// seg only: the masks [N, H, W] (float, 0 or 1, on out's device): target.mask_path read and resized
/// to H x W (nearest), or where each image's class is the arg-max. Error(kData) for an empty mask.
at::Tensor segmentation_masks(const at::Tensor& out, const Target& target, const at::Tensor& indices);

/// Each image's score [N] under `target` (graph-attached: their sum is what one backward explains).
/// `indices` [N] long; `masks` as segmentation_masks() gives them (seg only).
at::Tensor target_scores(const at::Tensor& out, const Target& target, const at::Tensor& indices, const at::Tensor& masks = {});

/// One image's detections in a torchvision detector's output, as tensors (the scores and boxes
/// graph-attached when the forward recorded them).
struct DetectionTensors {
  at::Tensor boxes;   ///< [K, 4] x1, y1, x2, y2
  at::Tensor labels;  ///< [K]
  at::Tensor scores;  ///< [K]
};

/// True when `output` is a detector's: a list of dicts with "boxes", "labels" and "scores" (eager and
/// traced), or a scripted detector's (losses, detections) tuple.
bool is_detector_output(const c10::IValue& output);

/// The detections of each of the n images in `output`. Error(kData) when it is not a detector's output,
/// saying that `explainers` of a box explain detectors.
std::vector<DetectionTensors> detections_of(const Model::Impl& impl, const c10::IValue& output, int64_t n, const std::string& explainers);

/// Plain records of `d` (CPU floats), best score first as the detector returns them.
std::vector<Detection> detection_records(const DetectionTensors& d);

/// A box target made concrete for one image: `target` itself when it has a box; else the box and label
/// of the image's best detection (of label target.index when given). Error(kData) when there is none.
Target resolve_box_target(const DetectionTensors& d, const Target& target);

/// pytorch-grad-cam's FasterRCNNBoxScoreTarget for one image and a resolved box target: IoU + score of
/// the detection whose IoU with the box is the highest, when that IoU is above 0.5 and its label is
/// the target's; a 0-d, graph-attached tensor. Error(kData) naming the best overlap otherwise (the
/// target is not detected: there is nothing to explain).
at::Tensor box_score(const DetectionTensors& d, const Target& resolved);

/// pytorch-grad-cam's scale_cam_image on one map: x - min, / (1e-7 + max).
at::Tensor scale_min_max(const at::Tensor& m);

/// `t` (a layer's output, or its gradient) as [N, C, rows, cols] under `layout` (read_layout's):
/// a permute for channels-last, the leading tokens dropped and a reshape for tokens.
at::Tensor to_nchw(const at::Tensor& t, const Layout& layout);

}  // namespace cnnviz
