#include "cnnviz/predictions.h"

#include <fmt/core.h>

namespace cnnviz {

std::string label_of(int c, const std::vector<std::string>& labels) {
  return c >= 0 && static_cast<std::size_t>(c) < labels.size() ? labels[static_cast<std::size_t>(c)] : std::string();
}

std::string class_text(int c, const std::vector<std::string>& labels) {
  const std::string label = label_of(c, labels);
  return std::to_string(c) + (label.empty() ? "" : " (" + label + ")");
}

std::string predictions_text(const std::vector<Prediction>& predictions) {
  std::string text;
  for (const auto& p : predictions) {
    text += fmt::format("  {:>5}  {:6.2f}%  {:>10.4f}{}\n", p.index, 100.0 * p.probability, p.score, p.label.empty() ? "" : "  " + p.label);
  }
  return text;
}

nlohmann::ordered_json predictions_json(const std::vector<Prediction>& predictions) {
  auto list = nlohmann::ordered_json::array();
  for (const auto& p : predictions) {
    list.push_back({{"class", p.index}, {"label", p.label}, {"score", p.score}, {"probability", p.probability}});
  }
  return list;
}

}  // namespace cnnviz
