#pragma once

// Faithfulness metrics of CAMs, after pytorch-grad-cam's metrics/cam_mult_image.py: how the target's
// score changes when the image is multiplied by its own map.

#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/cam.h"
#include "cnnviz/float_array.h"
#include "cnnviz/model.h"

namespace cnnviz {

/// --metrics names: "change" (CamMultImageConfidenceChange), "drop" (DropInConfidence), "increase"
/// (IncreaseInConfidence).
const std::vector<std::string>& cam_metric_names();
/// Throws Error(kUsage) for a name not in cam_metric_names(), or for metrics asked of a seg target
/// (its mask would have to follow the perturbed image). Callers check before loading anything.
void check_cam_metrics(const std::vector<std::string>& names, const Target& target);

/// One image's figures. `change` = score(x * map) - score(x), with the input tensor (after
/// normalisation) multiplied by the [H, W] map on every channel; `drop` = max(-change, 0);
/// `increase` = 1 when change > 0, else 0. Scores are the explained target's (CamResult::target_score).
struct CamConfidence {
  float score = 0;        ///< the target's score on the image
  float score_after = 0;  ///< on the image times its map
  float change = 0;
  float drop = 0;
  float increase = 0;
};

/// For each image of `batch` [N, C, H, W] and its map (cams[i], as compute_cams made them for this batch
/// and `request`), one forward of the perturbed batch. Class, softmax and output targets (Error(kUsage)
/// for seg targets).
std::vector<CamConfidence> cam_confidence(Model& model, const FloatArray& batch, const std::vector<CamResult>& cams, const CamRequest& request);

/// Sums of a run's figures, so that runs over parts of a data set (--shard) add up: means are the sums
/// over `images`.
struct CamMetricTotals {
  int64_t images = 0;
  double change = 0, drop = 0, increase = 0;
  void add(const CamConfidence& c);
};

}  // namespace cnnviz
