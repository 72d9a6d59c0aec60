#include "cnnviz/labels.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <numeric>

#include "cnnviz/error.h"
#include "cnnviz/input_file.h"

namespace cnnviz {

const std::vector<std::string>& imagenet_labels() {
  static const std::vector<std::string> labels = {
#include "imagenet_labels.inc"
  };
  return labels;
}

std::vector<std::string> load_labels(const std::string& path) {
  std::istringstream in(read_input_file(path, int64_t{64} << 20, "a labels file (one class name per line)"));
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  return labels;
}

std::vector<Prediction> top_predictions(const std::vector<float>& scores, int k, const std::vector<std::string>& labels) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  k = std::min<int>(k, static_cast<int>(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return scores[static_cast<std::size_t>(a)] > scores[static_cast<std::size_t>(b)]; });
  const float max_score = scores.empty() ? 0.0f : *std::max_element(scores.begin(), scores.end());
  double total = 0;
  for (float s : scores) total += std::exp(static_cast<double>(s - max_score));
  std::vector<Prediction> out;
  for (int i = 0; i < k; ++i) {
    Prediction p;
    p.index = order[static_cast<std::size_t>(i)];
    p.score = scores[static_cast<std::size_t>(p.index)];
    p.probability = static_cast<float>(std::exp(static_cast<double>(p.score - max_score)) / total);
    if (static_cast<std::size_t>(p.index) < labels.size()) p.label = labels[static_cast<std::size_t>(p.index)];
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace cnnviz
