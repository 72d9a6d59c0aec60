#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnnviz/labels.h"

namespace cnnviz {

/// Class `c`'s label, or "" when `labels` does not name it.
std::string label_of(int c, const std::vector<std::string>& labels);

/// "24 (great grey owl)", or "24" without a label.
std::string class_text(int c, const std::vector<std::string>& labels);

/// The ranked predictions as the reports of gradcam and saliency print them: one line each, class,
/// probability, raw score, label.
std::string predictions_text(const std::vector<Prediction>& predictions);

/// The same as a JSON array of {class, label, score, probability}.
nlohmann::ordered_json predictions_json(const std::vector<Prediction>& predictions);

}  // namespace cnnviz
