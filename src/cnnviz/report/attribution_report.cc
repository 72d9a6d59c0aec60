#include "cnnviz/attribution_report.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "cnnviz/labels.h"
#include "cnnviz/predictions.h"

namespace cnnviz {
namespace {

double mean_of(const FloatArray& a) {
  double sum = 0;
  for (float v : a.values) sum += v;
  return a.values.empty() ? 0.0 : sum / static_cast<double>(a.values.size());
}

}  // namespace

namespace {

float metric_value(const CamConfidence& c, const std::string& name) {
  if (name == "change") return c.change;
  if (name == "drop") return c.drop;
  if (name == "increase") return c.increase;
  if (name == "road-most") return c.road_most;
  if (name == "road-least") return c.road_least;
  return c.road;
}

}  // namespace

nlohmann::ordered_json cam_metrics_json(const CamConfidence& c, const std::vector<std::string>& names) {
  nlohmann::ordered_json j = {{"score", c.score}, {"score_after", c.score_after}};
  for (const std::string& name : names) j[name] = metric_value(c, name);
  return j;
}

std::string cam_metrics_text(const CamConfidence& c, const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) {
    text += (text.empty() ? "metrics: " : ", ") + fmt::format("{} {:.6g}", name, metric_value(c, name));
    if (name == "change") text += fmt::format(" (score {:.6g} -> {:.6g})", c.score, c.score_after);
  }
  return text + "\n";
}

namespace {

bool is_box_report(const CamImageReport& report) { return !report.cams.empty() && report.cams.front().target.rfind("box", 0) == 0; }

}  // namespace

nlohmann::ordered_json cam_image_json(const CamImageReport& report) {
  auto cams = nlohmann::ordered_json::array();
  std::vector<std::string> all;
  for (std::size_t r = 0; r < report.cams.size(); ++r) {
    const CamResult& cam = report.cams[r];
    const std::vector<std::string> files = r < report.files.size() ? report.files[r] : std::vector<std::string>{};
    all.insert(all.end(), files.begin(), files.end());
    cams.push_back({{"rank", static_cast<int>(r) + 1},
                    {"class", cam.target_class},
                    {"label", label_of(cam.target_class, report.labels)},
                    {"target", cam.target},
                    {"target_score", cam.target_score},
                    {"map", {{"shape", cam.map.shape}, {"layer_shape", cam.low_res.shape}, {"mean", mean_of(cam.map)}}},
                    {"outputs", files}});
    if (r < report.metrics.size()) cams.back()["metrics"] = cam_metrics_json(report.metrics[r], report.metric_names);
  }
  const std::vector<float> scores = report.cams.empty() ? std::vector<float>{} : report.cams.front().scores;
  nlohmann::ordered_json doc = {{"model", report.model},
                                {"image", report.image},
                                {"method", report.method},
                                {"layer", report.layer.path},
                                {"layer_class", report.layer.class_name},
                                {"predictions", predictions_json(top_predictions(scores, 5, report.labels))},
                                {"cams", cams},
                                {"outputs", all}};
  if (is_box_report(report)) {
    auto detections = nlohmann::ordered_json::array();
    for (const Detection& d : report.cams.front().detections) {
      if (d.score < report.detection_threshold) continue;
      detections.push_back({{"label", d.label}, {"name", label_of(d.label, report.labels)}, {"score", d.score}, {"box", d.box}});
    }
    doc["detections"] = detections;
    doc["detections_total"] = report.cams.front().detections.size();
  }
  return doc;
}

std::string cam_image_text(const CamImageReport& report) {
  std::string classes;
  std::string targets;
  for (const CamResult& cam : report.cams) {
    classes += (classes.empty() ? "" : ", ") + class_text(cam.target_class, report.labels);
    targets += (targets.empty() ? "" : ", ") + fmt::format("{} (score {:.6g})", cam.target, cam.target_score);
  }
  const std::vector<float> scores = report.cams.empty() ? std::vector<float>{} : report.cams.front().scores;
  const bool by_class = report.cams.empty() || report.cams.front().target.empty() || report.cams.front().target.rfind("class:", 0) == 0;
  const std::string what = by_class ? fmt::format("class{} {}", report.cams.size() > 1 ? "es" : "", classes) : "target " + targets;
  std::string metrics;
  for (std::size_t r = 0; r < report.metrics.size(); ++r) {
    metrics += (report.metrics.size() > 1 ? fmt::format("rank {} ", r + 1) : "") + cam_metrics_text(report.metrics[r], report.metric_names);
  }
  const std::string head = fmt::format("layer {} ({}), {}\n", report.layer.path, report.layer.class_name, what) + metrics;
  if (!is_box_report(report)) return head + predictions_text(top_predictions(scores, 5, report.labels));
  const std::vector<Detection>& all = report.cams.front().detections;
  std::string lines;
  std::size_t shown = 0;
  for (const Detection& d : all) {
    if (d.score < report.detection_threshold) continue;
    ++shown;
    lines += fmt::format("  {} score {:.4f} box {:.1f},{:.1f},{:.1f},{:.1f}\n", class_text(d.label, report.labels), d.score, d.box[0], d.box[1],
                         d.box[2], d.box[3]);
  }
  return head + fmt::format("detections with score >= {:g}: {} of {}\n", report.detection_threshold, shown, all.size()) + lines;
}

nlohmann::ordered_json saliency_json(const SaliencyReport& report) {
  const SaliencyResult& r = report.result;
  double abs_max = 0;
  for (float v : r.gradient.values) abs_max = std::max(abs_max, static_cast<double>(std::fabs(v)));
  return {{"model", report.model},
          {"image", report.image},
          {"method", report.method},
          {"reduce", report.reduce},
          {"scale", report.scale},
          {"class", r.target_class},
          {"label", label_of(r.target_class, report.labels)},
          {"target", r.target},
          {"predictions", predictions_json(top_predictions(r.scores, 5, report.labels))},
          {"map", {{"shape", r.map.shape}, {"mean", mean_of(r.map)}}},
          {"gradient", {{"shape", r.gradient.shape}, {"abs_max", abs_max}}},
          {"outputs", report.files}};
}

std::string saliency_text(const SaliencyReport& report) {
  const bool by_class = report.result.target.empty() || report.result.target.rfind("class:", 0) == 0;
  return fmt::format("{}, {}\n", report.method, by_class ? "class " + class_text(report.result.target_class, report.labels) : "target " + report.result.target) +
         predictions_text(top_predictions(report.result.scores, 5, report.labels));
}

nlohmann::ordered_json maximize_json(const MaximizeReport& report) {
  auto filters = nlohmann::ordered_json::array();
  for (std::size_t f = 0; f < report.filters.size(); ++f) {
    filters.push_back({{"filter", report.filters[f]}, {"first", report.result.first.at(f)}, {"last", report.result.last.at(f)}});
  }
  return {{"model", report.model},
          {"layer", report.layer.path},
          {"layer_class", report.layer.class_name},
          {"steps", report.steps},
          {"lr", report.lr},
          {"seed", report.seed},
          {"filters", filters},
          {"outputs", report.files}};
}

std::string maximize_text(const MaximizeReport& report) {
  std::string text = fmt::format("layer {} ({}), {} steps: mean activation at the first and last step\n", report.layer.path,
                                 report.layer.class_name, report.steps);
  for (std::size_t f = 0; f < report.filters.size(); ++f) {
    text += fmt::format("  filter {:>5}  {:>12.4f} -> {:>12.4f}\n", report.filters[f], report.result.first.at(f), report.result.last.at(f));
  }
  return text;
}

}  // namespace cnnviz
