// The CAM family over one pipeline: a method only decides the channel weights (Grad-CAM, Grad-CAM++,
// XGrad-CAM) or the whole per-pixel map (LayerCAM, HiResCAM, EigenCAM); capture, ReLU, scaling and
// resizing are shared and follow pytorch-grad-cam 1.5 (base_cam.py, utils/image.py).

#include "cnnviz/cam.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/name_table.h"
#include "gradient_capture.h"
#include "model_impl.h"

namespace cnnviz {
namespace {

bool needs_gradients(CamMethod m) { return m != CamMethod::kEigenCam && m != CamMethod::kScoreCam; }

// [1, h, w] raw map from the activation A [1, C, h, w] and its gradient G (undefined for EigenCAM).
at::Tensor raw_map(CamMethod method, const at::Tensor& A, const at::Tensor& G) {
  switch (method) {
    case CamMethod::kGradCam: {
      // Selvaraju et al. 2017, Eq. 1: alpha_k = mean over i, j of dy/dA_k.
      const at::Tensor w = G.mean({2, 3}, /*keepdim=*/true);
      return (w * A).sum(1);
    }
    case CamMethod::kGradCamPlusPlus: {
      // Chattopadhay et al. 2018, Eq. 19, with pytorch-grad-cam's eps 1e-6 and alpha = 0 where G = 0.
      const at::Tensor g2 = G * G, g3 = g2 * G;
      const at::Tensor sum_a = A.sum({2, 3}, /*keepdim=*/true);
      at::Tensor alpha = g2 / (2 * g2 + sum_a * g3 + 1e-6);
      alpha = at::where(G != 0, alpha, at::zeros_like(alpha));
      const at::Tensor w = (at::relu(G) * alpha).sum({2, 3}, /*keepdim=*/true);
      return (w * A).sum(1);
    }
    case CamMethod::kXGradCam: {
      // Fu et al. 2020, Eq. 8: alpha_k = sum_ij (A_k,ij / sum A_k) * dy/dA_k,ij.
      const at::Tensor sum_a = A.sum({2, 3}, /*keepdim=*/true);
      const at::Tensor w = (G * A / (sum_a + 1e-7)).sum({2, 3}, /*keepdim=*/true);
      return (w * A).sum(1);
    }
    case CamMethod::kLayerCam:
      // Jiang et al. 2021, Eq. 5: relu(dy/dA) * A, summed over channels.
      return (at::relu(G) * A).sum(1);
    case CamMethod::kHiResCam:
      // Draelos & Carin 2020: dy/dA * A element-wise, summed over channels.
      return (G * A).sum(1);
    case CamMethod::kEigenCam: {
      // Muhammad & Yeasin 2020: A [C, hw] projected on its first principal component, centred first
      // (pytorch-grad-cam's get_2d_projection). The sign of a principal component is a convention:
      // LAPACK's, as in numpy.
      const int64_t c = A.size(1), h = A.size(2), w = A.size(3);
      at::Tensor x = at::nan_to_num(A[0]).reshape({c, h * w}).t();
      x = x - x.mean(0, /*keepdim=*/true);
      const auto svd = at::linalg_svd(x, /*full_matrices=*/false);
      const at::Tensor v0 = std::get<2>(svd)[0];
      return at::matmul(x, v0).reshape({1, h, w});
    }
    case CamMethod::kScoreCam:
      break;  // needs forwards: score_cam()
  }
  return {};
}

// Score-CAM (Wang et al. 2020, Eq. 5 and 6), as pytorch-grad-cam's ScoreCAM: each channel, upsampled
// with align_corners=True and min-max scaled (eps 1e-8), masks the input; the masked inputs' target
// scores, softmaxed over channels, weight the channels. masked_scores() runs the masked inputs
// `score_batch_size` at a time (the first batch behind the memory guard) and keeps every class's score,
// [N, C, K], so that each target class costs no more forwards; score_cam_map() weighs A for one target
// per image, [N, h, w].
at::Tensor masked_scores(Model::Impl& impl, const at::Tensor& A, const FloatArray& batch, int score_batch_size,
                         int64_t max_memory_bytes, std::vector<std::string>& notes) {
  const int64_t n = A.size(0), c = A.size(1);
  const at::Tensor input = at::from_blob(const_cast<float*>(batch.values.data()), batch.shape, at::kFloat).to(impl.device);
  at::Tensor up = at::upsample_bilinear2d(A, {input.size(2), input.size(3)}, /*align_corners=*/true);
  const at::Tensor flat = up.view({n, c, -1});
  const at::Tensor maxs = std::get<0>(flat.max(-1)).unsqueeze(-1).unsqueeze(-1);
  const at::Tensor mins = std::get<0>(flat.min(-1)).unsqueeze(-1).unsqueeze(-1);
  up = (up - mins) / (maxs - mins + 1e-8);
  std::vector<at::Tensor> per_image;
  bool guarded = false;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<at::Tensor> chunks;
    for (int64_t start = 0; start < c; start += score_batch_size) {
      const int64_t end = std::min(c, start + score_batch_size);
      const at::Tensor masked = input[i].unsqueeze(0) * up[i].slice(0, start, end).unsqueeze(1);  // [chunk, channels, H, W]
      chunks.push_back(run_plain_forward(impl, masked, guarded ? 0 : max_memory_bytes, &notes).to(at::kFloat));
      guarded = true;
    }
    per_image.push_back(at::cat(chunks));
  }
  return at::stack(per_image);
}

at::Tensor score_cam_map(const at::Tensor& A, const at::Tensor& scores, const at::Tensor& targets) {
  const at::Tensor picked = scores.gather(2, targets.to(scores.device()).view({-1, 1, 1}).expand({scores.size(0), scores.size(1), 1}));
  const at::Tensor w = at::softmax(picked.squeeze(2), 1).unsqueeze(-1).unsqueeze(-1);  // [N, C, 1, 1]
  return (w * A).sum(1);
}

CaptureOptions options_for(const FloatArray& input) {
  CaptureOptions o;
  o.inputs = {InputSpec{input.shape, DType::kFloat32}};
  o.input_data = {input};
  return o;
}

}  // namespace

const std::vector<std::string>& cam_method_names() {
  static const std::vector<std::string> names = {"gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "eigencam", "scorecam"};
  return names;
}

CamMethod parse_cam_method(std::string_view name) {
  return static_cast<CamMethod>(name_index(cam_method_names(), name, "--method"));
}

int auto_cam_layer(Model& model, const FloatArray& input) {
  CaptureOptions o = options_for(input);
  // "Last" by when the module returns, as torch-cam's forward hooks see it: ResNet's layer4 returns
  // after the ReLU inside its last block.
  int chosen = -1, chosen_order = -1;
  for (const ModuleCall& call : capture_module_calls(model, o).calls) {
    const auto& s = call.output_shape;
    if (call.finished && call.node != 0 && s.size() == 4 && (s[2] > 1 || s[3] > 1) && call.finish_order > chosen_order) {
      chosen = call.node;
      chosen_order = call.finish_order;
    }
  }
  if (chosen < 0) throw Error(ErrorKind::kModel, "'" + model.file().path + "' has no layer with a spatial [N, C, H, W] output; give --layer");
  return chosen;
}

std::vector<CamResult> compute_cams(Model& model, const FloatArray& batch, const CamRequest& request,
                                    const std::vector<std::optional<int>>& classes, int score_batch_size) {
  Model::Impl& impl = model.impl();
  const ModuleNode& layer = impl.tree.nodes.at(static_cast<std::size_t>(request.layer));
  const std::string layer_name = layer.path.empty() ? layer.class_name : layer.path;
  CaptureOptions options = options_for(batch);
  options.max_memory_bytes = request.max_memory_bytes;
  GradientRun run = run_for_activation_gradient(impl, options, request.layer);
  const int64_t n = batch.shape.at(0);

  const at::Tensor* out = &class_scores(impl, run.output, n, "CAMs");
  const at::Tensor& A = run.activation;
  if (A.dim() != 4 || A.size(0) != n) {
    throw Error(ErrorKind::kData, "layer '" + layer_name + "' outputs " + shape_to_string(A.sizes().vec()) +
                                      ", which has no spatial dimensions; pick a convolution or pooling layer");
  }
  const at::Tensor scores = out->detach().to(at::kCPU, at::kFloat).contiguous();
  const int num_classes = static_cast<int>(scores.size(1));
  if (request.top_k > num_classes) {
    throw Error::usage("--top-k " + std::to_string(request.top_k) + " is more than the model's " + std::to_string(num_classes) +
                       " classes");
  }
  // The classes to explain: rank r of image i is targets[r][i].
  const int ranks = std::max(1, request.top_k);
  std::vector<std::vector<int64_t>> targets(static_cast<std::size_t>(ranks));
  for (int64_t i = 0; i < n; ++i) {
    if (request.top_k > 0) {
      const at::Tensor best = std::get<1>(scores[i].topk(request.top_k));
      for (int r = 0; r < ranks; ++r) targets[static_cast<std::size_t>(r)].push_back(best[r].item<int64_t>());
      continue;
    }
    const std::optional<int> wanted = static_cast<std::size_t>(i) < classes.size() ? classes[static_cast<std::size_t>(i)] : request.target_class;
    const int64_t c = wanted.value_or(static_cast<int>(scores[i].argmax().item<int64_t>()));
    check_class_index(c, num_classes);
    targets[0].push_back(c);
  }

  std::vector<CamResult> results(static_cast<std::size_t>(n * ranks));
  const at::Tensor a = A.detach().to(at::kFloat);
  const int64_t H = batch.shape.at(2), W = batch.shape.at(3);
  std::vector<std::string> notes = std::move(run.notes);
  at::Tensor score_cam_scores;
  if (request.method == CamMethod::kScoreCam) {
    at::NoGradGuard no_grad;
    score_cam_scores = masked_scores(impl, a, batch, score_batch_size, request.max_memory_bytes, notes);
  }
  for (int r = 0; r < ranks; ++r) {
    const at::Tensor target_index = at::tensor(targets[static_cast<std::size_t>(r)], at::kLong).to(out->device());
    at::Tensor G;
    if (needs_gradients(request.method)) {
      // The sum of every image's own target score: each image's gradient is its own. One forward
      // serves every rank; the graph is kept until the last.
      const at::Tensor score = out->gather(1, target_index.unsqueeze(1)).sum();
      const auto no_path = [&] {
        return Error(ErrorKind::kModel, "the class score does not depend on layer '" + layer_name +
                                            "' (no gradient path); pick a layer the output is computed from");
      };
      if (!score.requires_grad()) throw no_path();
      try {
        G = torch::autograd::grad({score}, {A}, /*grad_outputs=*/{}, /*retain_graph=*/r + 1 < ranks, /*create_graph=*/false,
                                  /*allow_unused=*/true)[0];
      } catch (const std::exception& e) {
        throw Error(ErrorKind::kExecution, "the backward pass to layer '" + layer_name + "' failed: " + torch_error_message(e));
      }
      if (!G.defined()) throw no_path();
    }
    at::NoGradGuard no_grad;
    at::Tensor raw;
    if (request.method == CamMethod::kScoreCam) {
      raw = score_cam_map(a, score_cam_scores, target_index);
    } else if (request.method == CamMethod::kEigenCam) {
      std::vector<at::Tensor> maps;
      for (int64_t i = 0; i < n; ++i) maps.push_back(raw_map(request.method, a.slice(0, i, i + 1), G));
      raw = at::cat(maps, 0);
    } else {
      raw = raw_map(request.method, a, G.to(at::kFloat));  // [N, h, w]
    }
    for (int64_t i = 0; i < n; ++i) {
      CamResult& result = results[static_cast<std::size_t>(i * ranks + r)];
      const float* row = scores.data_ptr<float>() + i * num_classes;
      result.scores.assign(row, row + num_classes);
      result.target_class = static_cast<int>(targets[static_cast<std::size_t>(r)][static_cast<std::size_t>(i)]);
      const at::Tensor low = scale_min_max(at::relu(raw[i]));
      at::Tensor full = at::upsample_bilinear2d(low.unsqueeze(0).unsqueeze(0), {H, W}, /*align_corners=*/false)[0][0];
      full = scale_min_max(at::relu(full));
      result.low_res = to_float_array(low);
      result.map = to_float_array(full);
    }
  }
  results.front().notes = std::move(notes);
  return results;
}

CamResult compute_cam(Model& model, const FloatArray& input, const CamRequest& request) {
  return compute_cams(model, input, request, {request.target_class}).at(0);
}

}  // namespace cnnviz
