// The CAM metrics' names and option checks, and their totals: plain data, no LibTorch, so that options
// are checked before anything loads. The metrics themselves are computed in cam_metrics.cc.

#include <algorithm>
#include <sstream>

#include "cnnviz/cam_metrics.h"
#include "cnnviz/error.h"
#include "cnnviz/name_table.h"

namespace cnnviz {
namespace {

std::string fmt_percentile(double p) {
  std::ostringstream text;
  text << p;
  return text.str();
}

}  // namespace

const std::vector<std::string>& cam_metric_names() {
  static const std::vector<std::string> names = {"change", "drop", "increase", "road-most", "road-least", "road"};
  return names;
}

std::vector<double> road_percentiles(const std::string& name, const RoadOptions& road) {
  if (!road.percentiles.empty()) return road.percentiles;
  // pytorch-grad-cam's defaults: ROADMostRelevantFirst(percentile=80), ROADLeastRelevantFirst(percentile=20),
  // ROADCombined(percentiles=[10, ..., 90]).
  if (name == "road-most") return {80};
  if (name == "road-least") return {20};
  return {10, 20, 30, 40, 50, 60, 70, 80, 90};
}

void check_road_options(const std::vector<std::string>& names, const RoadOptions& road) {
  for (const double p : road.percentiles) {
    if (!(p >= 0 && p <= 100)) throw Error::usage(fmt_percentile(p) + " is not a percentile: --road-percentiles take numbers from 0 to 100");
  }
  const bool any_road = std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.rfind("road", 0) == 0; });
  if (!road.percentiles.empty() && !any_road) throw Error::usage("--road-percentiles need a ROAD metric: add road, road-most or road-least to --metrics");
}

void check_cam_metrics(const std::vector<std::string>& names, const Target& target) {
  for (const std::string& name : names) name_index(cam_metric_names(), name, "--metrics");
  if (!names.empty() && (target.kind == TargetKind::kSegmentation || target.kind == TargetKind::kBox)) {
    const std::string given = target.index ? target_text(target, *target.index) : target.kind == TargetKind::kBox ? "box" : "seg:auto";
    throw Error::usage("--metrics take class, softmax and output targets; not --target " + given);
  }
}

void CamMetricTotals::add(const CamConfidence& c) {
  ++images;
  change += c.change;
  drop += c.drop;
  increase += c.increase;
  road_most += c.road_most;
  road_least += c.road_least;
  road += c.road;
}

}  // namespace cnnviz
