#include "cnnviz/cam_report.h"

#include "cnnviz/attribution_report.h"

#include "cnnviz/labels.h"
#include "cnnviz/predictions.h"

namespace cnnviz {

std::string batch_status_name(CamBatchEvent::Status status) {
  switch (status) {
    case CamBatchEvent::Status::kOk: return "ok";
    case CamBatchEvent::Status::kSkipped: return "skipped";
    case CamBatchEvent::Status::kError: return "error";
  }
  return "error";
}

nlohmann::ordered_json cam_batch_line(const CamBatchEvent& event, const std::vector<std::string>& labels) {
  nlohmann::ordered_json line = {{"image", event.item->image}, {"output", event.output}, {"status", batch_status_name(event.status)}};
  if (event.rank > 0) line["rank"] = event.rank;
  if (event.cam) {
    const auto best = top_predictions(event.cam->scores, 1, labels);
    line["class"] = event.cam->target_class;
    line["label"] = label_of(event.cam->target_class, labels);
    line["target"] = event.cam->target;
    if (event.confidence) line["metrics"] = cam_metrics_json(*event.confidence, cam_metric_names());
    line["top1"] = best.empty() ? -1 : best[0].index;
    line["top1_probability"] = best.empty() ? 0.0f : best[0].probability;
  }
  if (!event.message.empty()) line["message"] = event.message;
  return line;
}

}  // namespace cnnviz
