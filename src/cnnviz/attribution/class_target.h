#pragma once

// Private to libcnnviz: the target step that the attribution methods share, after pytorch-grad-cam's
// ClassifierOutputTarget (the raw class score), and its min-max scaling.

#include <torch/script.h>

#include <string>

#include "model/model_impl.h"

namespace cnnviz {

/// The model's output (its first tensor, torchinfo's rule) as class scores [n, K]; Error(kData) saying
/// that `explainers` ("CAMs", "saliency maps") explain classifiers otherwise.
const at::Tensor& class_scores(const Model::Impl& impl, const c10::IValue& output, int64_t n, const std::string& explainers);

/// Error(kUsage) unless 0 <= c < classes, naming --class and the valid range.
void check_class_index(int64_t c, int64_t classes);

/// The target: the sum over the rows of `scores` [N, K] of row i's score of class targets[i] ([N], long),
/// so that one backward gives each image the gradient of its own class.
at::Tensor class_target_score(const at::Tensor& scores, const at::Tensor& targets);

/// pytorch-grad-cam's scale_cam_image on one map: x - min, / (1e-7 + max).
at::Tensor scale_min_max(const at::Tensor& m);

}  // namespace cnnviz
