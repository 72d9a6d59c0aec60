// pytorch-grad-cam's PerturbationConfidenceMetric with multiply_tensor_with_cam: the target's score on
// the input tensor times the map, minus its score on the input.

#include "cnnviz/cam_metrics.h"

#include <torch/script.h>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/name_table.h"
#include "attribution/target_score.h"
#include "capture/forward_run.h"
#include "model/model_impl.h"

namespace cnnviz {

const std::vector<std::string>& cam_metric_names() {
  static const std::vector<std::string> names = {"change", "drop", "increase"};
  return names;
}

void check_cam_metrics(const std::vector<std::string>& names, const Target& target) {
  for (const std::string& name : names) name_index(cam_metric_names(), name, "--metrics");
  if (!names.empty() && target.kind == TargetKind::kSegmentation) {
    throw Error::usage("--metrics take class, softmax and output targets; not --target " +
                       (target.index ? target_text(target, *target.index) : std::string("seg:auto")));
  }
}

std::vector<CamConfidence> cam_confidence(Model& model, const FloatArray& batch, const std::vector<CamResult>& cams,
                                          const CamRequest& request) {
  check_cam_metrics(cam_metric_names(), request.target);
  const int64_t n = batch.shape.at(0), h = batch.shape.at(2), w = batch.shape.at(3);
  const int ranks = std::max(1, request.top_k);
  if (static_cast<int64_t>(cams.size()) != n * ranks) throw Error(ErrorKind::kInternal, "cam_confidence: one map per image and rank");
  Model::Impl& impl = model.impl();
  at::NoGradGuard no_grad;
  const at::Tensor x = at::from_blob(const_cast<float*>(batch.values.data()), batch.shape, at::kFloat);
  std::vector<CamConfidence> out(cams.size());
  for (int r = 0; r < ranks; ++r) {
    std::vector<at::Tensor> perturbed;
    std::vector<int64_t> indices;
    for (int64_t i = 0; i < n; ++i) {
      const CamResult& cam = cams[static_cast<std::size_t>(i * ranks + r)];
      const at::Tensor map = at::from_blob(const_cast<float*>(cam.map.values.data()), {1, h, w}, at::kFloat);
      perturbed.push_back(x[i] * map);
      indices.push_back(cam.target_class);
    }
    const at::Tensor output = run_plain_forward(impl, at::stack(perturbed), 0, nullptr);
    const at::Tensor index = at::tensor(indices, at::kLong);
    const at::Tensor after = target_scores(output, request.target, index).to(at::kCPU, at::kFloat).contiguous();
    for (int64_t i = 0; i < n; ++i) {
      CamConfidence& c = out[static_cast<std::size_t>(i * ranks + r)];
      c.score = cams[static_cast<std::size_t>(i * ranks + r)].target_score;
      c.score_after = after[i].item<float>();
      c.change = c.score_after - c.score;
      c.drop = std::max(-c.change, 0.0f);
      c.increase = c.change > 0 ? 1.0f : 0.0f;
    }
  }
  return out;
}

void CamMetricTotals::add(const CamConfidence& c) {
  ++images;
  change += c.change;
  drop += c.drop;
  increase += c.increase;
}

}  // namespace cnnviz
