#pragma once

// What `cnnviz gradcam` (one image), `saliency` and `maximize` print besides their pictures: the text
// report and the JSON document (docs/cli.md has the fields). Plain data in, text out.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnnviz/activation_max.h"
#include "cnnviz/cam.h"
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
};

/// {model, image, method, layer, layer_class, predictions (top 5), cams [{rank, class, label, map {shape,
/// layer_shape, mean}, outputs}], outputs}.
nlohmann::ordered_json cam_image_json(const CamImageReport& report);
/// "layer L (Class), class K (label)" (classes with top-k), then the top-5 predictions.
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
