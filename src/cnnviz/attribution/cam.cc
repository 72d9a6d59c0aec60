// The CAM family over one pipeline, after pytorch-grad-cam 1.5 (base_cam.py, utils/image.py): one
// forward that makes the layer's output A a leaf, the target's gradient G where the method needs it,
// ScoreCAM's masked forwards where it needs them, then the method's map step (the table below), and the
// shared ReLU, min-max and resize. FullGrad instead records every bias layer's output and takes the
// input's gradient as well (BiasOutputs).

#include "cnnviz/cam.h"

#include <torch/script.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/name_table.h"
#include "attribution/target_score.h"
#include "capture/forward_run.h"
#include "model/model_impl.h"

namespace cnnviz {
namespace {

// The CAMs' view of the forward: at the target layer's first return, the rest of the forward is
// recorded for autograd from a detached copy A of its output, and a clone of A is handed on. Autograd
// then yields d(score)/dA for the layer's own output, however the code after it (an in-place ReLU, say)
// changes the tensor it received, and nothing below the layer is recorded at all.
class ActivationLeaf : public ReturnHook {
 public:
  explicit ActivationLeaf(int node) : node_(node) {}
  at::Tensor on_return(int node, const at::Tensor& x) override {
    if (node != node_ || leaf_.defined()) return {};
    leaf_ = x.detach().clone().requires_grad_(true);
    at::GradMode::set_enabled(true);  // until the forward ends: run_forward's guard restores the mode
    return leaf_.clone();
  }
  // A layer that returns a dict of maps (a detector's FPN) is read, not made a leaf: its maps are
  // kept in the dict's order for the gradient-free methods (pytorch-grad-cam records no gradient for
  // a dict either).
  void on_output(int node, const c10::IValue& output) override {
    if (node != node_ || leaf_.defined() || !maps_.empty() || !output.isGenericDict()) return;
    for (const auto& item : output.toGenericDict()) {
      if (!item.value().isTensor() || item.value().toTensor().dim() != 4) {
        maps_.clear();
        return;
      }
      keys_.push_back(item.key().isString() ? item.key().toStringRef() : std::to_string(maps_.size()));
      maps_.push_back(item.value().toTensor().detach());
    }
  }
  const at::Tensor& leaf() const { return leaf_; }
  const std::vector<at::Tensor>& maps() const { return maps_; }
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  int node_;
  at::Tensor leaf_;
  std::vector<at::Tensor> maps_;
  std::vector<std::string> keys_;
};

// pytorch-grad-cam's fasterrcnn_reshape_transform: every map's absolute value resized (bilinear,
// align_corners=False) to the "pool" map's size, or the last map's, then concatenated over channels.
at::Tensor fpn_maps(const std::vector<at::Tensor>& maps, const std::vector<std::string>& keys) {
  at::Tensor size_of = maps.back();
  for (std::size_t i = 0; i < maps.size(); ++i) {
    if (keys[i] == "pool") size_of = maps[i];
  }
  std::vector<at::Tensor> resized;
  for (const at::Tensor& m : maps) {
    resized.push_back(at::upsample_bilinear2d(m.abs().to(at::kFloat), {size_of.size(2), size_of.size(3)}, /*align_corners=*/false));
  }
  return at::cat(resized, 1);
}

// FullGrad's view of the forward, with the input as the autograd leaf: the output of each bias layer
// (bias_layers()) is kept as autograd recorded it and a clone is handed on, so that its gradient is the
// one at the layer's own output, before an in-place op after it (ResNet's ReLU(inplace=True) after a
// BatchNorm) changes the tensor. pytorch-grad-cam's tensor hook on that output sees the same gradient
// (measured with PyTorch 2.14: a hook registered before an in-place ReLU gets d score / d its input).
class BiasOutputs : public ReturnHook {
 public:
  explicit BiasOutputs(const std::vector<int>& nodes) : outputs_(nodes.size()), calls_(nodes.size(), 0) {
    for (std::size_t i = 0; i < nodes.size(); ++i) index_[nodes[i]] = i;
  }
  at::Tensor on_return(int node, const at::Tensor& x) override {
    const auto it = index_.find(node);
    if (it == index_.end()) return {};
    if (calls_[it->second]++ > 0) return {};
    outputs_[it->second] = x;
    return x.clone();
  }
  const std::vector<at::Tensor>& outputs() const { return outputs_; }
  const std::vector<int>& calls() const { return calls_; }

 private:
  std::map<int, std::size_t> index_;
  std::vector<at::Tensor> outputs_;
  std::vector<int> calls_;
};

// FullGrad's layers, as pytorch-grad-cam picks them: every torch.nn.Conv2d and BatchNorm2d (not their
// subclasses) that has a bias, in the order of the module tree, and their bias terms: a convolution's
// bias, and what an eval-mode BatchNorm adds, bias - running_mean * weight / sqrt(running_var + eps).
struct BiasLayers {
  std::vector<int> nodes;
  std::vector<at::Tensor> biases;
};

BiasLayers bias_layers(const Model::Impl& impl) {
  BiasLayers layers;
  const ModuleTree& tree = impl.tree();
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
    const ModuleNode& n = tree.nodes[i];
    const int node = static_cast<int>(i);
    const bool conv = n.qualified_class == "torch.nn.modules.conv.Conv2d";
    if (!conv && n.qualified_class != "torch.nn.modules.batchnorm.BatchNorm2d") continue;
    const at::Tensor bias = impl.runtime->parameter(node, "bias");
    if (!bias.defined()) continue;
    at::Tensor term = bias.detach();
    if (!conv) {
      const at::Tensor mean = impl.runtime->parameter(node, "running_mean"), var = impl.runtime->parameter(node, "running_var");
      const at::Tensor weight = impl.runtime->parameter(node, "weight");
      const std::optional<double> eps = impl.runtime->number(node, "eps");
      if (!mean.defined() || !var.defined() || !weight.defined() || !eps) {
        throw Error(ErrorKind::kModel, "fullgrad: BatchNorm2d '" + n.path + "' of '" + impl.file.path +
                                           "' keeps no running statistics (or the file does not record its eps), which its bias term needs");
      }
      term = bias.detach() - mean * weight.detach() / at::sqrt(var + *eps);
    }
    layers.nodes.push_back(node);
    layers.biases.push_back(term.to(at::kFloat));
  }
  return layers;
}

// What a method's map step gets: the layer's activations A [N, C, h, w] (float), their gradients G
// (defined when the method needs gradients), and for ScoreCAM the masked inputs' scores [N, C, K] and
// the target classes [N].
struct MapInputs {
  at::Tensor A, G, masked_scores, targets;
  at::Tensor random_weights;  // RandomCAM: [N, C], numpy's uniform(-1, 1)
  at::Tensor ablation_weights;  // AblationCAM: [N, C], (score - score with channel k ablated) / score
  at::Tensor hvp;  // ShapleyCAM: the Hessian of the score at A times A, [N, C, h, w] (zeros where undefined)
  // FullGrad: the input x and its gradient [N, C, H, W], and per bias layer its bias b [C] and the
  // gradient at its output [N, C, h, w] (undefined when the score does not depend on it).
  at::Tensor input, input_grad;
  std::vector<at::Tensor> biases, bias_grads;
  bool eigen_smooth = false;  // FullGrad applies it itself
};

// A method's map step. Most weigh the activations, [N, C, h, w], which the pipeline sums over the
// channels, or with --eigen-smooth projects on their first principal component, as pytorch-grad-cam's
// get_cam_image does; the others give the raw map [N, h, w] themselves. Both before the shared ReLU
// and scaling.
using WeightedStep = at::Tensor (*)(const MapInputs&);
using MapStep = at::Tensor (*)(const MapInputs&);

// alpha_k-weighted channels.
at::Tensor weighted_channels(const at::Tensor& weights, const at::Tensor& A) { return weights * A; }

at::Tensor grad_cam(const MapInputs& in) {
  // Selvaraju et al. 2017, Eq. 1: alpha_k = mean over i, j of dy/dA_k.
  return weighted_channels(in.G.mean({2, 3}, /*keepdim=*/true), in.A);
}

at::Tensor grad_cam_plus_plus(const MapInputs& in) {
  // Chattopadhay et al. 2018, Eq. 19, with pytorch-grad-cam's eps 1e-6 and alpha = 0 where G = 0.
  const at::Tensor &A = in.A, &G = in.G;
  const at::Tensor g2 = G * G, g3 = g2 * G;
  const at::Tensor sum_a = A.sum({2, 3}, /*keepdim=*/true);
  at::Tensor alpha = g2 / (2 * g2 + sum_a * g3 + 1e-6);
  alpha = at::where(G != 0, alpha, at::zeros_like(alpha));
  return weighted_channels((at::relu(G) * alpha).sum({2, 3}, /*keepdim=*/true), A);
}

at::Tensor x_grad_cam(const MapInputs& in) {
  // Fu et al. 2020, Eq. 8: alpha_k = sum_ij (A_k,ij / sum A_k) * dy/dA_k,ij.
  const at::Tensor sum_a = in.A.sum({2, 3}, /*keepdim=*/true);
  return weighted_channels((in.G * in.A / (sum_a + 1e-7)).sum({2, 3}, /*keepdim=*/true), in.A);
}

at::Tensor layer_cam(const MapInputs& in) {
  // Jiang et al. 2021, Eq. 5: relu(dy/dA) * A.
  return at::relu(in.G) * in.A;
}

at::Tensor hires_cam(const MapInputs& in) {
  // Draelos & Carin 2020: dy/dA * A element-wise.
  return in.G * in.A;
}

// pytorch-grad-cam's get_2d_projection, per image: X [C, hw] (NaN as 0) transposed, centred, projected
// on its first right singular vector. The sign of a principal component is a convention: LAPACK's, as
// in numpy.
at::Tensor project_2d(const at::Tensor& X) {
  std::vector<at::Tensor> maps;
  const int64_t c = X.size(1), h = X.size(2), w = X.size(3);
  for (int64_t i = 0; i < X.size(0); ++i) {
    at::Tensor x = at::nan_to_num(X[i]).reshape({c, h * w}).t();
    x = x - x.mean(0, /*keepdim=*/true);
    const auto svd = at::linalg_svd(x, /*full_matrices=*/false);
    maps.push_back(at::matmul(x, std::get<2>(svd)[0]).reshape({1, h, w}));
  }
  return at::cat(maps, 0);
}

at::Tensor eigen_cam(const MapInputs& in) {
  // Muhammad & Yeasin 2020: the activations' first principal component.
  return project_2d(in.A);
}

// pytorch-grad-cam's get_2d_projection_kernel: per image, scikit-learn's KernelPCA(n_components=1,
// kernel="sigmoid") of the centred [hw, C] activations, in float32 as scikit-learn keeps them: the kernel
// tanh(X X^T / C + 1), centred (KernelCenterer), its largest eigenpair (v, l), v's sign flipped so that
// its largest |entry| is positive (svd_flip), projected as v sqrt(max(l, 0)).
at::Tensor kpca_cam(const MapInputs& in) {
  std::vector<at::Tensor> maps;
  const int64_t c = in.A.size(1), h = in.A.size(2), w = in.A.size(3);
  for (int64_t i = 0; i < in.A.size(0); ++i) {
    at::Tensor x = at::nan_to_num(in.A[i]).reshape({c, h * w}).t();
    x = x - x.mean(0, /*keepdim=*/true);
    at::Tensor k = at::tanh(at::matmul(x, x.t()) * (1.0 / static_cast<double>(c)) + 1.0);
    const at::Tensor rows = k.sum(0) / k.size(0);
    const at::Tensor all = rows.sum() / k.size(0);
    const at::Tensor cols = (k.sum(1) / rows.size(0)).unsqueeze(1);
    k = k - rows - cols + all;
    const auto eig = at::linalg_eigh(k);
    const at::Tensor lambda = std::get<0>(eig)[-1];
    at::Tensor v = std::get<1>(eig).select(1, h * w - 1);
    if (v[v.abs().argmax()].item<float>() < 0) v = -v;
    maps.push_back((v * at::sqrt(at::clamp_min(lambda, 0))).reshape({1, h, w}));
  }
  return at::cat(maps, 0);
}

at::Tensor grad_cam_element_wise(const MapInputs& in) {
  // pytorch-grad-cam's GradCAMElementWise: relu(dy/dA * A) element-wise.
  return at::relu(in.G * in.A);
}

at::Tensor eigen_grad_cam(const MapInputs& in) {
  // pytorch-grad-cam's EigenGradCAM: EigenCAM's projection of dy/dA * A.
  return project_2d(in.G * in.A);
}

at::Tensor fem(const MapInputs& in) {
  // Fuad et al. 2020, as pytorch-grad-cam's FEM (k = 2): a channel's weight is the share of its positions
  // above its mean + 2 standard deviations (population std, numpy's np.std).
  const at::Tensor mean = in.A.mean({2, 3}, /*keepdim=*/true);
  const at::Tensor std = (in.A - mean).pow(2).mean({2, 3}, /*keepdim=*/true).sqrt();
  const at::Tensor weights = (in.A > mean + 2 * std).to(in.A.dtype()).mean({2, 3}, /*keepdim=*/true);
  return (weights * in.A).sum(1);
}

at::Tensor ablation_cam(const MapInputs& in) {
  // Desai & Ramaswamy 2020, as pytorch-grad-cam's AblationCAM: a channel's weight is the share of the
  // target's score lost when it is ablated (ablation_scores() below).
  return weighted_channels(in.ablation_weights.unsqueeze(-1).unsqueeze(-1), in.A);
}

at::Tensor random_cam(const MapInputs& in) {
  // pytorch-grad-cam's RandomCAM, a baseline: channel weights drawn from numpy's uniform(-1, 1).
  return weighted_channels(in.random_weights.unsqueeze(-1).unsqueeze(-1), in.A);
}

at::Tensor shapley_cam(const MapInputs& in) {
  // Cai 2025, as pytorch-grad-cam's ShapleyCAM: alpha_k = mean over i, j of (dy/dA - (H A) / 2)_k, the
  // gradient corrected by half the Hessian-vector product (a second-order Taylor term).
  return weighted_channels((in.G - 0.5 * in.hvp).mean({2, 3}, /*keepdim=*/true), in.A);
}

// pytorch-grad-cam's scale_cam_image for maps [M, h, w]: each shifted to min 0 and divided by
// 1e-7 + its max, then resized to H x W (cv2.resize's bilinear: align_corners=False, no antialiasing;
// the identity at the same size).
at::Tensor scale_maps(const at::Tensor& maps, int64_t H, int64_t W) {
  const at::Tensor flat = maps.reshape({maps.size(0), -1});
  const at::Tensor shifted = maps - std::get<0>(flat.min(1)).view({-1, 1, 1});
  const at::Tensor scaled = shifted / (1e-7 + std::get<0>(shifted.reshape({maps.size(0), -1}).max(1)).view({-1, 1, 1}));
  return at::upsample_bilinear2d(scaled.unsqueeze(1), {H, W}, /*align_corners=*/false).squeeze(1);
}

// scale_maps over the channels of [N, C, h, w] (pytorch-grad-cam's scale_accross_batch_and_channels).
at::Tensor scale_channels(const at::Tensor& t, int64_t H, int64_t W) {
  return scale_maps(t.reshape({t.size(0) * t.size(1), t.size(2), t.size(3)}), H, W).view({t.size(0), t.size(1), H, W});
}

at::Tensor full_grad(const MapInputs& in) {
  // Srinivas & Fleuret 2019, as pytorch-grad-cam's FullGrad: |x * dy/dx| per input channel, and per bias
  // layer the sum over its channels of |b * dy/dz| (z its output), every channel scaled and resized on
  // its own; then the sum of all these maps (with eigen_smooth: their first principal component, at an
  // eighth of the size, scaled and resized back).
  const int64_t H = in.input.size(2), W = in.input.size(3);
  std::vector<at::Tensor> maps = {scale_channels((in.input_grad * in.input).abs(), H, W)};
  for (std::size_t l = 0; l < in.biases.size(); ++l) {
    const at::Tensor& g = in.bias_grads[l];
    if (!g.defined()) continue;  // a layer the score does not depend on adds nothing
    maps.push_back(scale_channels((in.biases[l].view({1, -1, 1, 1}) * g).abs(), H, W).sum(1, /*keepdim=*/true));
  }
  const at::Tensor all = at::cat(maps, 1);
  if (!in.eigen_smooth) return all.sum(1);
  if (H < 8 || W < 8) throw Error::usage("fullgrad's --eigen-smooth works at an eighth of the input's size; the input is " + std::to_string(H) + " x " + std::to_string(W));
  return scale_maps(project_2d(scale_channels(all, H / 8, W / 8)), H, W);
}

at::Tensor score_cam(const MapInputs& in);  // below, with its masked forwards

// How each method makes its map, in enum order (the names and settings are cam_methods(), in
// cam_methods.cc).
struct MethodRow {
  CamMethodInfo info;
  WeightedStep weighted;  // the weighted activations, or
  MapStep map;            // the raw map (methods that ignore --eigen-smooth, as pytorch-grad-cam's do)
};

const std::vector<MethodRow>& method_table() {
  static const std::vector<MethodRow> rows = [] {
    struct Steps {
      CamMethod method;
      WeightedStep weighted;
      MapStep map;
    };
    const Steps steps[] = {
        {CamMethod::kGradCam, grad_cam, nullptr},
        {CamMethod::kGradCamPlusPlus, grad_cam_plus_plus, nullptr},
        {CamMethod::kXGradCam, x_grad_cam, nullptr},
        {CamMethod::kLayerCam, layer_cam, nullptr},
        {CamMethod::kHiResCam, hires_cam, nullptr},
        {CamMethod::kEigenCam, nullptr, eigen_cam},
        {CamMethod::kGradCamElementWise, grad_cam_element_wise, nullptr},
        {CamMethod::kScoreCam, score_cam, nullptr},
        {CamMethod::kEigenGradCam, nullptr, eigen_grad_cam},
        {CamMethod::kFem, nullptr, fem},
        {CamMethod::kRandomCam, random_cam, nullptr},
        {CamMethod::kAblationCam, ablation_cam, nullptr},
        {CamMethod::kKpcaCam, nullptr, kpca_cam},
        {CamMethod::kFullGrad, nullptr, full_grad},
        {CamMethod::kShapleyCam, shapley_cam, nullptr},
        {CamMethod::kFinerCam, grad_cam, nullptr},
    };
    std::vector<MethodRow> v;
    for (const Steps& s : steps) {
      const CamMethodInfo& info = cam_methods().at(static_cast<std::size_t>(s.method));
      if (info.method != s.method) throw Error(ErrorKind::kInternal, "the CAM step table is out of enum order");
      v.push_back({info, s.weighted, s.map});
    }
    if (v.size() != cam_methods().size()) throw Error(ErrorKind::kInternal, "a CAM method has no step");
    return v;
  }();
  return rows;
}

const MethodRow& method_row(CamMethod method) { return method_table().at(static_cast<std::size_t>(method)); }

// numpy's legacy RandomState: np.random.seed(s) seeds MT19937 as std::mt19937 does, and random_sample()
// makes a double of 53 bits from two draws (randomkit's rk_double).
class NumpyRandom {
 public:
  explicit NumpyRandom(uint64_t seed) : mt_(static_cast<std::mt19937::result_type>(seed)) {}
  double random_sample() {
    const uint64_t a = mt_() >> 5, b = mt_() >> 6;
    return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
  }
  // np.random.uniform(low, high, size=(n, c)), row-major.
  at::Tensor uniform(double low, double high, int64_t n, int64_t c) {
    at::Tensor t = at::empty({n, c}, at::kDouble);
    double* p = t.data_ptr<double>();
    for (int64_t i = 0; i < n * c; ++i) p[i] = low + (high - low) * random_sample();
    return t;
  }

 private:
  std::mt19937 mt_;
};

// Score-CAM (Wang et al. 2020, Eq. 5 and 6), as pytorch-grad-cam's ScoreCAM: each channel, upsampled
// with align_corners=True and min-max scaled (eps 1e-8), masks the input; the masked inputs' target
// scores, softmaxed over channels, weight the channels. masked_scores() runs the masked inputs
// `score_batch_size` at a time (the first batch behind the memory guard) and keeps every class's score,
// [N, C, K], so that each target class costs no more forwards; score_cam() weighs A for one target per
// image, [N, h, w].
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

// The layer's output replaced, at every return, by a given batch: pytorch-grad-cam's AblationLayer in
// the layer's place.
class ReplaceReturn : public ReturnHook {
 public:
  ReplaceReturn(int node, at::Tensor replacement) : node_(node), replacement_(std::move(replacement)) {}
  at::Tensor on_return(int node, const at::Tensor&) override { return node == node_ ? replacement_ : at::Tensor(); }

 private:
  int node_;
  at::Tensor replacement_;
};

// Ablation-CAM's weights, as pytorch-grad-cam's AblationCAM (ratio_channels_to_ablate 1, its batches of
// 32): per image, batches of copies of the input run with the layer's output replaced by the image's
// own activation in which copy r ablates channel k: set to 0 when the batch's minimum is 0, else to that
// minimum minus 1e7, the minimum taken again before each copy (as its AblationLayer loop does, so later
// copies of a batch go lower). weight_k = (score - score_k) / score, scores of the class target.
at::Tensor ablation_weights(Model::Impl& impl, int layer, const at::Tensor& A, const FloatArray& batch, const at::Tensor& scores,
                            const at::Tensor& targets, int64_t max_memory_bytes, std::vector<std::string>& notes) {
  constexpr int64_t kBatch = 32;
  const int64_t n = A.size(0), c = A.size(1);
  const at::Tensor input = at::from_blob(const_cast<float*>(batch.values.data()), batch.shape, at::kFloat);
  at::Tensor weights = at::empty({n, c}, at::kFloat);
  bool guarded = false;
  for (int64_t i = 0; i < n; ++i) {
    const float original = scores[i].item<float>();
    for (int64_t start = 0; start < c; start += kBatch) {
      const int64_t count = std::min(kBatch, c - start);
      at::Tensor ablated = A[i].unsqueeze(0).repeat({count, 1, 1, 1});
      for (int64_t r = 0; r < count; ++r) {
        const at::Tensor low = ablated.min();
        ablated[r][start + r].fill_(low.item<float>() == 0 ? low : low - 1e7);
      }
      const at::Tensor copies = input[i].unsqueeze(0).repeat({count, 1, 1, 1}).contiguous();
      CaptureOptions options;
      options.inputs = {InputSpec{copies.sizes().vec(), DType::kFloat32}};
      options.input_data = {to_float_array(copies)};
      options.max_memory_bytes = guarded ? 0 : max_memory_bytes;
      guarded = true;
      ReplaceReturn replace(layer, ablated.to(A.device()));
      ForwardRequest forward;
      forward.hooks.push_back(&replace);
      ForwardRun run = run_forward(impl, options, forward);
      notes.insert(notes.end(), run.notes.begin(), run.notes.end());
      const at::Tensor* out = first_tensor(run.output, true);
      if (!out || out->dim() != 2) throw Error(ErrorKind::kData, "ablationcam: the output of '" + impl.file.path + "' is not class scores [N, K]");
      const at::Tensor picked = out->index_select(1, targets[i].view({1}).to(out->device())).view({count}).to(at::kCPU, at::kFloat);
      weights[i].slice(0, start, start + count).copy_((original - picked) / original);
    }
  }
  return weights;
}

at::Tensor score_cam(const MapInputs& in) {
  const at::Tensor& scores = in.masked_scores;
  const at::Tensor picked =
      scores.gather(2, in.targets.to(scores.device()).view({-1, 1, 1}).expand({scores.size(0), scores.size(1), 1}));
  const at::Tensor w = at::softmax(picked.squeeze(2), 1).unsqueeze(-1).unsqueeze(-1);  // [N, C, 1, 1]
  return weighted_channels(w, in.A);
}

// FinerCAM's score per image (pytorch-grad-cam's FinerWeightedTarget): the target class c's score y_c
// against the classes at the given ranks of |y - y_c| (ascending, ties in class order; rank 0 is c),
// weighted by their softmax probabilities, which take part in the gradient too.
at::Tensor finer_scores(const at::Tensor& out, const at::Tensor& detached, const at::Tensor& classes, const FinerOptions& finer) {
  const at::Tensor prob = at::softmax(out, -1);
  std::vector<at::Tensor> scores;
  for (int64_t i = 0; i < out.size(0); ++i) {
    const int64_t c = classes[i].item<int64_t>();
    const at::Tensor order = std::get<1>((detached[i] - detached[i][c]).abs().sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
    const at::Tensor y_c = out[i][c];
    at::Tensor numerator, denominator;
    for (const int rank : finer.comparisons) {
      const int64_t j = order[rank].item<int64_t>();
      const at::Tensor w = prob[i][j];
      const at::Tensor term = w * (y_c - finer.alpha * out[i][j]);
      numerator = numerator.defined() ? numerator + term : term;
      denominator = denominator.defined() ? denominator + w : w;
    }
    scores.push_back(numerator / (denominator + 1e-9));
  }
  return at::stack(scores);
}

// FinerCAM's settings, checked before any forward but the class count, which needs the output.
void check_finer(const CamRequest& request) {
  const FinerOptions& finer = request.finer;
  const CamMethod base = finer.base;
  if (base == CamMethod::kFinerCam || base == CamMethod::kFullGrad || base == CamMethod::kScoreCam || base == CamMethod::kAblationCam) {
    throw Error::usage("--finer-base " + method_row(base).info.name +
                       ": FinerCAM's base must be a method whose map needs only the layer and its gradient (not fullgrad, scorecam, ablationcam or finercam)");
  }
  if (request.target.kind != TargetKind::kClass) {
    throw Error::usage("finercam compares class scores (--class K); give another --method for --target " + target_text(request.target, request.target.index.value_or(0)));
  }
  if (finer.comparisons.empty()) throw Error::usage("--finer-compare needs at least one rank");
  if (!std::isfinite(finer.alpha)) throw Error::usage("--finer-alpha must be a finite number");
}

CaptureOptions options_for(const FloatArray& input) {
  CaptureOptions o;
  o.inputs = {InputSpec{input.shape, DType::kFloat32}};
  o.input_data = {input};
  return o;
}

}  // namespace

int auto_cam_layer(Model& model, const FloatArray& input, const std::vector<ModuleCall>& known_calls, const Reshape& reshape,
                   bool gradients) {
  // A detector's backbone: its dict of FPN maps for the methods that read activations only; below it,
  // in its feature extractor (torchvision's backbone.body), the layer that returns last for the others.
  int under = 0;
  if (model.takes_image_list() && (reshape.kind == ReshapeKind::kAuto || reshape.kind == ReshapeKind::kFpn)) {
    const std::vector<ModuleNode>& nodes = model.tree().nodes;
    for (std::size_t i = 1; i < nodes.size(); ++i) {
      if (nodes[i].path == "backbone" && !gradients) return static_cast<int>(i);
      if (nodes[i].path == "backbone.body" || (nodes[i].path == "backbone" && under == 0)) under = static_cast<int>(i);
    }
  }
  std::vector<ModuleCall> ran;
  if (known_calls.empty()) {
    CaptureOptions o = options_for(input);
    o.dry_run = false;
    ran = capture_module_calls(model, o).calls;
  }
  const std::vector<ModuleCall>& calls = known_calls.empty() ? ran : known_calls;
  const ModuleTree& tree = model.tree();
  const int64_t H = input.shape.at(2), W = input.shape.at(3);
  auto layout_of = [&](const ModuleCall& call) {
    try {
      return read_layout(call.output_shape, reshape, H, W).kind;
    } catch (const Error&) {
      return Layout::Kind::kNone;  // an explicit --reshape that does not fit this call
    }
  };
  auto inside = [&](int node, int ancestor) {
    for (int n = node; n >= 0; n = tree.nodes.at(static_cast<std::size_t>(n)).parent) {
      if (n == ancestor) return n != node;
    }
    return false;
  };
  auto is_attention = [&](int node) { return tree.nodes.at(static_cast<std::size_t>(node)).class_name.find("Attention") != std::string::npos; };
  auto inside_attention = [&](int node) {
    for (int n = node; n >= 0; n = tree.nodes.at(static_cast<std::size_t>(n)).parent) {
      if (is_attention(n)) return true;
    }
    return false;
  };
  // "Last" by when the module returns, as torch-cam's forward hooks see it: ResNet's layer4 returns
  // after the ReLU inside its last block.
  auto last_spatial = [&](int before_order, bool tokens_only) {
    int chosen = -1, chosen_order = -1;
    for (const ModuleCall& call : calls) {
      if (!call.finished || call.node == 0 || call.finish_order >= before_order || call.finish_order <= chosen_order) continue;
      if (under > 0 && !inside(call.node, under)) continue;
      const Layout::Kind kind = layout_of(call);
      if (kind == Layout::Kind::kNone || (tokens_only && (kind != Layout::Kind::kTokens || inside_attention(call.node)))) continue;
      chosen = call.node;
      chosen_order = call.finish_order;
    }
    return chosen;
  };
  int chosen = last_spatial(std::numeric_limits<int>::max(), false);
  const ModuleCall* chosen_call = nullptr;
  int last_attention = -1;
  for (const ModuleCall& call : calls) {
    if (call.node == chosen && call.finished) chosen_call = &call;
    if (call.finished && is_attention(call.node)) last_attention = std::max(last_attention, call.finish_order);
  }
  if (chosen_call && last_attention >= 0 && layout_of(*chosen_call) == Layout::Kind::kTokens) {
    const int before = last_spatial(last_attention, true);
    if (before >= 0) chosen = before;
  }
  if (chosen < 0) {
    throw Error(ErrorKind::kModel, "'" + model.file().path + "' has no layer with a spatial output (N x C x H x W, channels-last or tokens of a grid); give --layer");
  }
  return chosen;
}

namespace {

std::vector<CamResult> cams_once(Model& model, const FloatArray& batch, const CamRequest& request,
                                 const std::vector<std::optional<int>>& classes, int score_batch_size, NumpyRandom& random) {
  Model::Impl& impl = model.impl();
  const Target& target = request.target;
  const bool full_grad = request.method == CamMethod::kFullGrad;
  const bool finer = request.method == CamMethod::kFinerCam;
  const bool box = target.kind == TargetKind::kBox;
  // The method whose map step runs: FinerCAM's base, else the method itself.
  const CamMethod map_method = finer ? request.finer.base : request.method;
  const ModuleNode* layer = full_grad ? nullptr : &impl.tree().nodes.at(static_cast<std::size_t>(request.layer));
  const std::string layer_name = !layer ? std::string() : layer->path.empty() ? layer->class_name : layer->path;
  const bool ranks_classes = target.kind == TargetKind::kClass || target.kind == TargetKind::kSoftmax;
  if (request.top_k > 0 && !ranks_classes) throw Error::usage("--top-k ranks the classes of a classifier; it does not go with --target " + target_text(target, target.index.value_or(0)));
  if ((request.method == CamMethod::kScoreCam || request.method == CamMethod::kAblationCam) && target.kind != TargetKind::kClass) {
    throw Error::usage(method_row(request.method).info.name + " explains class targets only (--class K); give another --method for --target " +
                       target_text(target, target.index.value_or(0)));
  }
  if (finer) check_finer(request);
  CaptureOptions options = options_for(batch);
  options.max_memory_bytes = request.input_checked ? 0 : request.max_memory_bytes;
  ActivationLeaf leaf(request.layer);
  std::optional<BiasLayers> biases;
  std::optional<BiasOutputs> bias_outputs;
  // FullGrad records the forward from the input on; the others from the layer on (ActivationLeaf).
  std::optional<at::AutoGradMode> enable_grad;
  ForwardRequest forward;
  if (full_grad) {
    enable_grad.emplace(true);
    biases = bias_layers(impl);
    bias_outputs.emplace(biases->nodes);
    forward.hooks = {&*bias_outputs};
    forward.input_as_leaf = true;
    forward.gradient_from = 0;
  } else {
    forward.hooks = {&leaf};
    forward.gradient_from = request.layer;
  }
  ForwardRun run = run_forward(impl, options, forward);
  if (full_grad) {
    for (std::size_t l = 0; l < biases->nodes.size(); ++l) {
      if (bias_outputs->calls()[l] <= 1) continue;
      throw Error(ErrorKind::kModel, "fullgrad: layer '" + impl.tree().nodes.at(static_cast<std::size_t>(biases->nodes[l])).path + "' runs " +
                                         std::to_string(bias_outputs->calls()[l]) + " times in one forward; FullGrad pairs each bias with one output");
    }
  }
  const int64_t n = batch.shape.at(0);
  const int64_t H = batch.shape.at(2), W = batch.shape.at(3);

  std::vector<DetectionTensors> detections;
  at::Tensor out;
  if (box) {
    if (finer) throw Error::usage("finercam compares the classes of a classifier; it does not go with --target box");
    detections = detections_of(impl, run.output, n, "CAMs");
  } else {
    out = target_output(impl, run.output, n, target, "CAMs");
  }
  std::vector<std::string> notes = std::move(run.notes);
  const MethodRow& method = method_row(map_method);
  at::Tensor A;
  Layout layout;
  std::vector<int64_t> layer_shape;
  if (full_grad) {
    // No layer: the input and every bias layer.
  } else if (leaf.leaf().defined()) {
    A = leaf.leaf();
    layer_shape = A.sizes().vec();
    layout = read_layout(layer_shape, request.reshape, H, W);
  } else if (!leaf.maps().empty()) {
    std::string shapes;
    for (std::size_t i = 0; i < leaf.maps().size(); ++i) {
      shapes += (i ? ", " : "") + leaf.keys()[i] + ": " + shape_to_string(leaf.maps()[i].sizes().vec());
    }
    const std::string returns = "layer '" + layer_name + "' returns a dict of " + std::to_string(leaf.maps().size()) + " maps (" + shapes + ")";
    if (request.reshape.kind != ReshapeKind::kAuto && request.reshape.kind != ReshapeKind::kFpn) {
      throw Error::usage(returns + "; --reshape fpn (or auto) reads it");
    }
    if (method.info.needs_gradients) {
      throw Error::usage(method.info.name + " needs the gradient of the layer's output, and " + returns +
                         ", whose gradients are not recorded (nor in pytorch-grad-cam); give --method eigencam or kpca_cam, "
                         "or a layer that returns one tensor (e.g. backbone.body.layer4)");
    }
    A = fpn_maps(leaf.maps(), leaf.keys());
    layer_shape = A.sizes().vec();
    layout = Layout{Layout::Kind::kNchw, 0, A.size(2), A.size(3), A.size(1)};
    notes.push_back(returns + ", read as their absolute values resized to " + std::to_string(A.size(2)) + " x " + std::to_string(A.size(3)) +
                    " and concatenated (--reshape fpn)");
  } else {
    throw layer_did_not_run(impl, request.layer);
  }
  if (!full_grad) {
    if (layout.kind == Layout::Kind::kNone || A.size(0) != n) {
      throw Error(ErrorKind::kData, "layer '" + layer_name + "' outputs " + shape_to_string(layer_shape) +
                                        ", which has no spatial layout; pick a convolution or pooling layer, or give --reshape");
    }
    if (layout.kind != Layout::Kind::kNchw) notes.push_back("layer '" + layer_name + "' outputs " + layout.describe(layer_shape));
  }
  const at::Tensor detached = box ? at::Tensor() : out.detach().to(at::kCPU, at::kFloat).contiguous();
  const bool keep_scores = !box && detached.dim() == 2;
  const int num_classes = !box && detached.dim() >= 2 ? static_cast<int>(detached.size(1)) : 1;
  if (request.top_k > num_classes) {
    throw Error::usage("--top-k " + std::to_string(request.top_k) + " is more than the model's " + std::to_string(num_classes) +
                       " classes");
  }
  if (finer) {
    for (const int rank : request.finer.comparisons) {
      if (rank < 0 || rank >= num_classes) {
        throw Error::usage("--finer-compare " + std::to_string(rank) + " is out of range: the ranks of the model's " + std::to_string(num_classes) +
                           " classes are 0 to " + std::to_string(num_classes - 1));
      }
    }
  }
  // What to explain: rank r of image i is targets[r][i] (for a box target, the box resolved[i]).
  const int ranks = std::max(1, request.top_k);
  std::vector<std::vector<int64_t>> targets(static_cast<std::size_t>(ranks));
  std::vector<Target> resolved;
  for (int64_t i = 0; i < n; ++i) {
    if (box) {
      resolved.push_back(resolve_box_target(detections[static_cast<std::size_t>(i)], target));
      targets[0].push_back(*resolved.back().index);
      continue;
    }
    if (request.top_k > 0) {
      const at::Tensor best = std::get<1>(detached[i].topk(request.top_k));
      for (int r = 0; r < ranks; ++r) targets[static_cast<std::size_t>(r)].push_back(best[r].item<int64_t>());
      continue;
    }
    const std::optional<int> wanted = static_cast<std::size_t>(i) < classes.size() ? classes[static_cast<std::size_t>(i)] : target.index;
    const int64_t c = wanted ? *wanted : default_index(detached[i], target);
    check_target_index(detached, target, c);
    targets[0].push_back(c);
  }

  std::vector<CamResult> results(static_cast<std::size_t>(n * ranks));
  MapInputs in;
  in.eigen_smooth = request.eigen_smooth;
  if (!full_grad) in.A = to_nchw(A.detach().to(at::kFloat), layout);
  if (full_grad) {
    in.input = run.input_leaf.detach().to(at::kFloat);
    in.biases = biases->biases;
    for (at::Tensor& b : in.biases) b = b.to(in.input.device());
  }
  if (map_method == CamMethod::kScoreCam) {
    at::NoGradGuard no_grad;
    in.masked_scores = masked_scores(impl, in.A, batch, score_batch_size, request.max_memory_bytes, notes);
  }
  for (int r = 0; r < ranks; ++r) {
    const bool last = r + 1 == ranks;  // one forward serves every rank; the graph is kept until the last
    const at::Tensor indices = at::tensor(targets[static_cast<std::size_t>(r)], at::kLong);
    at::Tensor score;
    if (box) {
      in.targets = indices;
      std::vector<at::Tensor> per_image;
      for (int64_t i = 0; i < n; ++i) per_image.push_back(box_score(detections[static_cast<std::size_t>(i)], resolved[static_cast<std::size_t>(i)]));
      score = at::stack(per_image);
    } else {
      in.targets = indices.to(out.device());
      const at::Tensor masks = target.kind == TargetKind::kSegmentation ? segmentation_masks(out, target, indices) : at::Tensor();
      score = finer ? finer_scores(out, detached.to(out.device()), indices, request.finer) : target_scores(out, target, indices, masks);
    }
    if (full_grad) {
      // One backward to the input and every bias layer's output.
      std::vector<at::Tensor> leaves = {run.input_leaf};
      std::vector<std::size_t> which;
      for (std::size_t l = 0; l < biases->nodes.size(); ++l) {
        if (!bias_outputs->outputs()[l].defined() || !bias_outputs->outputs()[l].requires_grad()) continue;
        leaves.push_back(bias_outputs->outputs()[l]);
        which.push_back(l);
      }
      const std::string no_path = "the target score of '" + impl.file.path + "' does not depend on its input (no gradient path)";
      if (!score.requires_grad()) throw Error(ErrorKind::kModel, no_path);
      const std::vector<at::Tensor> g = gradients_of(score.sum(), leaves, "the backward pass of '" + impl.file.path + "' to its input", !last);
      if (!g[0].defined()) throw Error(ErrorKind::kModel, no_path);
      in.input_grad = g[0].to(at::kFloat);
      in.bias_grads.assign(biases->nodes.size(), at::Tensor());
      for (std::size_t k = 0; k < which.size(); ++k) {
        if (g[k + 1].defined()) in.bias_grads[which[k]] = g[k + 1].to(at::kFloat);
      }
    } else if (method.info.needs_gradients) {
      const std::string no_path = "the target score does not depend on layer '" + layer_name + "' (no gradient path); pick a layer the output is computed from";
      const std::string backward = "the backward pass to layer '" + layer_name + "'";
      if (map_method == CamMethod::kShapleyCam) {
        // The gradient with its own graph, then the Hessian-vector product H A = d(G . A)/dA with A fixed.
        if (!score.requires_grad()) throw Error(ErrorKind::kModel, no_path);
        const at::Tensor g = gradients_of(score.sum(), {A}, backward, /*retain_graph=*/true, /*create_graph=*/true)[0];
        if (!g.defined()) throw Error(ErrorKind::kModel, no_path);
        at::Tensor hvp;
        // No graph from G back to A (the score is linear in A): the product is zero, as pytorch-grad-cam takes it.
        if (g.requires_grad()) hvp = gradients_of(g, {A}, "the second backward pass to layer '" + layer_name + "'", !last, false, A.detach())[0];
        in.G = to_nchw(g.detach().to(at::kFloat), layout);
        in.hvp = hvp.defined() ? to_nchw(hvp.detach().to(at::kFloat), layout) : at::zeros_like(in.G);
      } else {
        in.G = to_nchw(gradient_of(score.sum(), A, no_path, backward, /*retain_graph=*/!last).to(at::kFloat), layout);
      }
    }
    at::NoGradGuard no_grad;
    const at::Tensor values = score.detach().to(at::kCPU, at::kFloat).contiguous();
    if (map_method == CamMethod::kRandomCam) in.random_weights = random.uniform(-1, 1, n, in.A.size(1)).to(in.A.device(), at::kFloat);
    if (map_method == CamMethod::kAblationCam) {
      if (layout.kind != Layout::Kind::kNchw) throw Error::usage("ablationcam ablates channels of an [N, C, H, W] output; layer '" + layer_name + "' " + layout.describe(layer_shape));
      in.ablation_weights = ablation_weights(impl, request.layer, A.detach(), batch, values, indices, request.max_memory_bytes, notes).to(in.A.device());
    }
    // FullGrad's map is already at the input's size and scaled; the pipeline's second min-max below
    // changes it by less than 1e-6 (pytorch-grad-cam scales it once).
    const at::Tensor raw = !method.weighted          ? method.map(in)
                           : request.eigen_smooth ? project_2d(method.weighted(in))
                                                  : method.weighted(in).sum(1);  // [N, h, w]
    for (int64_t i = 0; i < n; ++i) {
      CamResult& result = results[static_cast<std::size_t>(i * ranks + r)];
      if (keep_scores) {
        const float* row = detached.data_ptr<float>() + i * num_classes;
        result.scores.assign(row, row + num_classes);
      }
      result.target_class = static_cast<int>(targets[static_cast<std::size_t>(r)][static_cast<std::size_t>(i)]);
      result.target = target_text(box ? resolved[static_cast<std::size_t>(i)] : target, result.target_class);
      if (box) result.detections = detection_records(detections[static_cast<std::size_t>(i)]);
      result.target_score = values[i].item<float>();
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

}  // namespace

std::vector<CamResult> compute_cams(Model& model, const FloatArray& batch, const CamRequest& request,
                                    const std::vector<std::optional<int>>& classes, int score_batch_size) {
  if (request.seed > 0xffffffffULL) throw Error::usage("--seed " + std::to_string(request.seed) + " is above 2^32 - 1 (numpy's seeds)");
  NumpyRandom random(request.seed);
  // A torch.export program with static input shapes runs at its exported batch only (its graph may hold
  // that batch in a view's sizes, as ViT-B/16's does): ScoreCAM's masked inputs go in that many at a time.
  if (const auto& fixed = model.file().example_inputs; !fixed.empty() && !fixed.front().shape.empty()) {
    score_batch_size = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(score_batch_size, fixed.front().shape.front())));
  }
  if (!request.aug_smooth) return cams_once(model, batch, request, classes, score_batch_size, random);
  if (request.top_k > 0) throw Error::usage("--aug-smooth explains one target per image; it does not go with --top-k");
  if (request.method == CamMethod::kFinerCam) throw Error::usage("finercam does not take --aug-smooth (pytorch-grad-cam's FinerCAM has none)");
  // pytorch-grad-cam's forward_augmentation_smoothing with ttach's Compose([HorizontalFlip(),
  // Multiply([0.9, 1, 1.1])]): every flip and factor in that order, each map flipped back, then the mean.
  CamRequest once = request;
  once.aug_smooth = false;
  const at::Tensor x = at::from_blob(const_cast<float*>(batch.values.data()), batch.shape, at::kFloat);
  std::vector<CamResult> mean;
  std::vector<at::Tensor> sums;
  for (const bool flip : {false, true}) {
    for (const double factor : {0.9, 1.0, 1.1}) {
      at::Tensor augmented = flip ? x.flip({3}) : x;
      if (factor != 1.0) augmented = augmented * factor;
      const std::vector<CamResult> cams = cams_once(model, to_float_array(augmented.contiguous()), once, classes, score_batch_size, random);
      if (sums.empty()) sums.resize(cams.size());
      for (std::size_t i = 0; i < cams.size(); ++i) {
        const CamResult& cam = cams[i];
        at::Tensor map = at::from_blob(const_cast<float*>(cam.map.values.data()), cam.map.shape, at::kFloat).clone();
        if (flip) map = map.flip({1});
        sums[i] = sums[i].defined() ? sums[i] + map : map;
      }
      if (!flip && factor == 1.0) mean = cams;  // the plain input's class, scores, layer map and notes
    }
  }
  for (std::size_t i = 0; i < mean.size(); ++i) mean[i].map = to_float_array(sums[i] / 6);
  return mean;
}

CamResult compute_cam(Model& model, const FloatArray& input, const CamRequest& request) {
  return compute_cams(model, input, request, {request.target.index}).at(0);
}

}  // namespace cnnviz
