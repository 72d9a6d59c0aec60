// pytorch-grad-cam's PerturbationConfidenceMetric with multiply_tensor_with_cam: the target's score on
// the input tensor times the map, minus its score on the input; and with ROAD's removal and noisy
// linear imputation (metrics/road.py; road.cc does all but the noise).

#include "cnnviz/cam_metrics.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/name_table.h"
#include "cnnviz/road.h"
#include "attribution/target_score.h"
#include "capture/forward_run.h"
#include "model/model_impl.h"

namespace cnnviz {
namespace {

// The images of one ROAD pass over one map: for each percentile, `image` [C, H, W] with the removed
// pixels replaced by their linear imputation plus 0.01 x standard normal noise. The noise is drawn as
// pytorch-grad-cam's torch.randn_like(res.t()) draws it, res being the [N, C] solution: SciPy's spsolve
// returns it in column-major order and torch.tensor keeps those strides, so res.t() is a contiguous
// [C, N] tensor (and a single channel's solution is a vector), which LibTorch fills in the same order
// from the same generator state.
std::vector<at::Tensor> road_images(const FloatArray& image, const FloatArray& map, const std::vector<double>& percentiles,
                                    bool most_relevant_first, at::Generator& generator) {
  const int64_t c = image.size(0), plane = image.size(1) * image.size(2);
  std::vector<at::Tensor> out;
  for (const double percentile : percentiles) {
    const std::vector<uint8_t> removed = road_removed_pixels(map, percentile, most_relevant_first);
    FloatArray filled = impute_linear(image, removed);
    std::vector<int64_t> pixels;
    for (int64_t i = 0; i < plane; ++i) {
      if (removed[static_cast<std::size_t>(i)]) pixels.push_back(i);
    }
    const int64_t n = static_cast<int64_t>(pixels.size());
    const at::Tensor index = at::tensor(pixels, at::kLong);
    const at::Tensor planes = at::from_blob(filled.values.data(), {c, plane}, at::kFloat).clone();
    const at::Tensor noise = at::empty({c, n}, at::kFloat).normal_(0, 1, generator);
    planes.index_copy_(1, index, planes.index_select(1, index) + noise * 0.01);
    out.push_back(planes.view({c, image.size(1), image.size(2)}));
  }
  return out;
}

}  // namespace

namespace {

// The ROAD figures among `names` of every map: per map and metric, a generator seeded with road.seed, the
// images of its percentiles (road: least relevant first, then most, as ROADCombined calls them) and
// one forward per pass. Each percentile's figure is score_after - score in float32, as pytorch-grad-cam's;
// their mean is taken in double.
void road_confidence(Model::Impl& impl, const FloatArray& batch, const std::vector<CamResult>& cams, const CamRequest& request,
                     const std::vector<std::string>& names, const RoadOptions& road, std::vector<CamConfidence>& out) {
  const int64_t n = batch.shape.at(0), c = batch.shape.at(1), h = batch.shape.at(2), w = batch.shape.at(3);
  const int64_t ranks = static_cast<int64_t>(cams.size()) / n;
  const std::size_t image_size = static_cast<std::size_t>(c * h * w);
  for (std::size_t m = 0; m < cams.size(); ++m) {
    const CamResult& cam = cams[m];
    const std::size_t first = (static_cast<int64_t>(m) / ranks) * image_size;
    const FloatArray image{{c, h, w}, std::vector<float>(batch.values.begin() + static_cast<std::ptrdiff_t>(first),
                                                         batch.values.begin() + static_cast<std::ptrdiff_t>(first + image_size))};
    // The mean over one pass's images of score(imputed) - score.
    auto mean_change = [&](const std::vector<at::Tensor>& images) {
      const at::Tensor output = run_plain_forward(impl, at::stack(images), 0, nullptr);
      const int64_t count = static_cast<int64_t>(images.size());
      const at::Tensor after = target_scores(output, request.target, at::full({count}, cam.target_class, at::kLong)).to(at::kCPU, at::kFloat);
      double sum = 0;
      for (int64_t i = 0; i < count; ++i) sum += after[i].item<float>() - cam.target_score;
      return static_cast<float>(sum / static_cast<double>(count));
    };
    for (const std::string& name : names) {
      if (name.rfind("road", 0) != 0) continue;
      const std::vector<double> percentiles = road_percentiles(name, road);
      at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(road.seed);
      CamConfidence& figures = out[m];
      if (name == "road-most") {
        figures.road_most = mean_change(road_images(image, cam.map, percentiles, true, generator));
      } else if (name == "road-least") {
        figures.road_least = mean_change(road_images(image, cam.map, percentiles, false, generator));
      } else {
        // Both passes' noise from one generator, least relevant first (ROADCombined's order).
        const std::vector<at::Tensor> least = road_images(image, cam.map, percentiles, false, generator);
        const std::vector<at::Tensor> most = road_images(image, cam.map, percentiles, true, generator);
        figures.road = (mean_change(least) - mean_change(most)) / 2;
      }
    }
  }
}

}  // namespace

std::vector<CamConfidence> cam_confidence(Model& model, const FloatArray& batch, const std::vector<CamResult>& cams,
                                          const CamRequest& request, const std::vector<std::string>& names, const RoadOptions& road) {
  check_cam_metrics(cam_metric_names(), request.target);
  check_cam_metrics(names, request.target);
  check_road_options(names, road);
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
  road_confidence(impl, batch, cams, request, names, road, out);
  return out;
}

}  // namespace cnnviz
