#include "cnnviz/image_run.h"

#include <algorithm>

#include "cnnviz/capture.h"
#include "cnnviz/input_spec.h"

namespace cnnviz {

namespace {

void append(std::vector<std::string>& to, const std::vector<std::string>& notes) { to.insert(to.end(), notes.begin(), notes.end()); }

}  // namespace

ImageCams run_cam_image(Model& model, const Image& image, const PreprocessOptions& pre, CamRequest request, int score_batch_size) {
  ImageCams out;
  // With an auto layer the layer is not known yet: count the whole model's gradient (the root's), and
  // pick the layer from the guard's dry run.
  const MemoryCheck memory = check_image_forward(model, image, pre, {request.max_memory_bytes, 1, std::max(request.layer, 0)});
  request.input_checked = true;
  out.notes = memory.notes;
  out.image = prepare_image(image, pre);
  if (request.layer < 0) request.layer = auto_cam_layer(model, out.image.input, memory.calls, request.reshape,
                                                       cam_methods().at(static_cast<std::size_t>(request.method)).needs_gradients);
  out.layer = request.layer;
  out.cams = compute_cams(model, out.image.input, request, {request.target.index}, score_batch_size);
  append(out.notes, out.cams.front().notes);
  return out;
}

ImageSaliency run_saliency_image(Model& model, const Image& image, const PreprocessOptions& pre, SaliencyRequest request) {
  ImageSaliency out;
  const int64_t batch = request.method == SaliencyMethod::kSmoothGrad ? std::min(request.batch_size, request.samples) : 1;
  const MemoryCheck memory = check_image_forward(model, image, pre, {request.max_memory_bytes, batch, 0});
  request.input_checked = true;
  out.notes = memory.notes;
  out.image = prepare_image(image, pre);
  out.saliency = compute_saliency(model, out.image.input, request);
  append(out.notes, out.saliency.notes);
  return out;
}

ImageFeatures run_feature_maps(Model& model, const Image& image, const PreprocessOptions& pre, const std::vector<int>& layers,
                               int64_t max_memory_bytes) {
  ImageFeatures out;
  out.notes = check_image_forward(model, image, pre, {max_memory_bytes}).notes;
  CaptureOptions capture;
  capture.input_data.push_back(prepare_image(image, pre).input);
  capture.inputs = {InputSpec{capture.input_data.back().shape, DType::kFloat32}};
  capture.dry_run = false;
  capture.keep_outputs = layers;
  CaptureResult result = capture_module_calls(model, capture);
  append(out.notes, result.notes);
  out.outputs = std::move(result.outputs);
  return out;
}

}  // namespace cnnviz
