#pragma once

// Faithfulness metrics of CAMs, after pytorch-grad-cam's metrics/cam_mult_image.py: how the target's
// score changes when the image is multiplied by its own map; and its metrics/road.py (ROAD): how it
// changes when the pixels the map ranks highest, or lowest, are removed and filled in (road.h).

#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/cam.h"
#include "cnnviz/float_array.h"
#include "cnnviz/model.h"

namespace cnnviz {

/// --metrics names: "change" (CamMultImageConfidenceChange), "drop" (DropInConfidence), "increase"
/// (IncreaseInConfidence), "road-most" (ROADMostRelevantFirst), "road-least" (ROADLeastRelevantFirst),
/// "road" (ROADCombined).
const std::vector<std::string>& cam_metric_names();
/// Throws Error(kUsage) for a name not in cam_metric_names(), or for metrics asked of a seg target
/// (its mask would have to follow the perturbed image). Callers check before loading anything.
void check_cam_metrics(const std::vector<std::string>& names, const Target& target);

/// ROAD's settings.
struct RoadOptions {
  /// Percentiles of the map (0 to 100): road-most and road-least average their figure over them
  /// (pytorch-grad-cam's ROADMostRelevantFirstAverage, ROADLeastRelevantFirstAverage), road combines
  /// them. Empty: pytorch-grad-cam's defaults, 80 for road-most, 20 for road-least, 10, 20, ..., 90 for road.
  std::vector<double> percentiles;
  /// The imputation's noise (0.01 x torch.randn) comes from a LibTorch CPU generator seeded with this
  /// before each ROAD metric of each map: pytorch-grad-cam's figures after torch.manual_seed(seed) before
  /// its metric call on that one map.
  uint64_t seed = 0;
};

/// The percentiles `names`' ROAD metric uses with `road` (its own, or the defaults above).
std::vector<double> road_percentiles(const std::string& name, const RoadOptions& road);

/// Throws Error(kUsage) for a percentile outside [0, 100], or percentiles given without a ROAD metric in
/// `names`.
void check_road_options(const std::vector<std::string>& names, const RoadOptions& road);

/// One image's figures. `change` = score(x * map) - score(x), with the input tensor (after
/// normalisation) multiplied by the [H, W] map on every channel; `drop` = max(-change, 0);
/// `increase` = 1 when change > 0, else 0. Scores are the explained target's (CamResult::target_score).
/// The ROAD figures, when asked: `road_most` the mean over the percentiles of score(x with the pixels at
/// or above the map's percentile imputed) - score(x); `road_least` the same with 1 - map;
/// `road` = (least - most) / 2 of those means over road's percentiles (its own noise draws).
struct CamConfidence {
  float score = 0;        ///< the target's score on the image
  float score_after = 0;  ///< on the image times its map
  float change = 0;
  float drop = 0;
  float increase = 0;
  float road_most = 0;
  float road_least = 0;
  float road = 0;
};

/// For each image of `batch` [N, C, H, W] and its map (cams[i], as compute_cams made them for this batch
/// and `request`), one forward of the perturbed batch; and the ROAD metrics among `names`, each one
/// forward per map of its percentiles' images. Class, softmax and output targets (Error(kUsage) for seg
/// targets).
std::vector<CamConfidence> cam_confidence(Model& model, const FloatArray& batch, const std::vector<CamResult>& cams, const CamRequest& request,
                                          const std::vector<std::string>& names = {}, const RoadOptions& road = {});

/// Sums of a run's figures, so that runs over parts of a data set (--shard) add up: means are the sums
/// over `images`.
struct CamMetricTotals {
  int64_t images = 0;
  double change = 0, drop = 0, increase = 0;
  double road_most = 0, road_least = 0, road = 0;
  void add(const CamConfidence& c);
};

}  // namespace cnnviz
