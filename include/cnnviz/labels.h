#pragma once

#include <string>
#include <vector>

namespace cnnviz {

/// torchvision's 1000 ImageNet class names (index 24 is "great grey owl").
const std::vector<std::string>& imagenet_labels();

/// Class names from a text file, one per line (blank lines kept, so line i names class i). Throws
/// Error(kInput) if unreadable.
std::vector<std::string> load_labels(const std::string& path);

/// One ranked prediction.
struct Prediction {
  int index = 0;
  float score = 0;        ///< the raw output (logit)
  float probability = 0;  ///< softmax over all classes
  std::string label;      ///< empty when unknown
};

/// The k best classes of a score row, with softmax probabilities and labels (`labels` may be empty).
std::vector<Prediction> top_predictions(const std::vector<float>& scores, int k, const std::vector<std::string>& labels);

}  // namespace cnnviz
