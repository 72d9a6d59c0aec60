#pragma once

// What `cnnviz gradcam` (one image), `saliency` and `maximize` print besides their pictures: the text
// report and the JSON document (docs/cli.md has the fields). Plain data in, text out.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnnviz/activation_max.h"
#include "cnnviz/cam.h"
#include "cnnviz/cam_metrics.h"
#include "cnnviz/module_tree.h"
#include "cnnviz/saliency.h"

namespace cnnviz {

/// gradcam's report of one image.
struct CamImageReport {
  std::string model;
  std::string image;
  std::string method;
  ModuleNode layer;
  std::vector<CamResult> cams;                  ///< by rank
  std::vector<std::vector<std::string>> files;  ///< per rank, the files written for it
  std::vector<std::string> labels;              ///< class names (may be empty)
  std::vector<std::string> metric_names;        ///< --metrics, in the order given (empty: none)
  std::vector<CamConfidence> metrics;           ///< per rank, with metric_names
  float detection_threshold = 0.5f;             ///< box targets: detections listed from this score up
};

/// The asked metrics of one map as JSON: {score, score_after, and each name in `names`}.
nlohmann::ordered_json cam_metrics_json(const CamConfidence& c, const std::vector<std::string>& names);
/// "metrics: change -0.0112 (score 2.31 -> 2.30), drop 0.0112, increase 0" for the asked names.
std::string cam_metrics_text(const CamConfidence& c, const std::vector<std::string>& names);

/// {model, image, method, layer, layer_class, predictions (top 5), cams [{rank, class, label, target,
/// target_score, map {shape, layer_shape, mean}, metrics (when asked), outputs}], outputs}; a box
/// target adds detections [{label, name, score, box}] (score >= detection_threshold) and detections_total.
nlohmann::ordered_json cam_image_json(const CamImageReport& report);
/// "layer L (Class), class K (label)" (classes with top-k), then the top-5 predictions; for a box
/// target, the detections from detection_threshold up instead.
std::string cam_image_text(const CamImageReport& report);

/// saliency's report.
struct SaliencyReport {
  std::string model;
  std::string image;
  std::string method;
  std::string reduce;
  std::string scale;
  SaliencyResult result;
  std::vector<std::string> files;   ///< the files written
  std::vector<std::string> labels;
};

/// {model, image, method, reduce, scale, class, label, predictions, map {shape, mean}, gradient {shape,
/// abs_max}, outputs}.
nlohmann::ordered_json saliency_json(const SaliencyReport& report);
/// "METHOD, class K (label)", then the top-5 predictions.
std::string saliency_text(const SaliencyReport& report);

/// maximize's report.
struct MaximizeReport {
  std::string model;
  ModuleNode layer;
  int steps = 0;
  float lr = 0;
  uint64_t seed = 0;
  std::vector<int64_t> filters;
  ActivationMaxResult result;
  std::vector<std::string> files;
};

/// {model, layer, layer_class, steps, lr, seed, filters [{filter, first, last}], outputs}.
nlohmann::ordered_json maximize_json(const MaximizeReport& report);
/// "layer L (Class), N steps: ..." and one line per filter with its mean activation at the first and last step.
std::string maximize_text(const MaximizeReport& report);

}  // namespace cnnviz
