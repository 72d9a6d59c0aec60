// The saliency methods', reductions' and scalings' names: plain data, no LibTorch, so that --help and
// option checks answer without loading it. The saliency itself is computed in saliency.cc.

#include "cnnviz/name_table.h"
#include "cnnviz/saliency.h"

namespace cnnviz {

const std::vector<std::string>& saliency_method_names() {
  static const std::vector<std::string> names = {"vanilla", "smoothgrad", "gradxinput", "guided", "guided-flashtorch"};
  return names;
}
SaliencyMethod parse_saliency_method(std::string_view name) {
  return static_cast<SaliencyMethod>(name_index(saliency_method_names(), name, "--method"));
}

const std::vector<std::string>& saliency_reduce_names() {
  static const std::vector<std::string> names = {"abs-max", "max"};
  return names;
}
SaliencyReduce parse_saliency_reduce(std::string_view name) {
  return static_cast<SaliencyReduce>(name_index(saliency_reduce_names(), name, "--reduce"));
}

const std::vector<std::string>& saliency_scale_names() {
  static const std::vector<std::string> names = {"minmax", "standardize"};
  return names;
}
SaliencyScale parse_saliency_scale(std::string_view name) {
  return static_cast<SaliencyScale>(name_index(saliency_scale_names(), name, "--scale"));
}

}  // namespace cnnviz
