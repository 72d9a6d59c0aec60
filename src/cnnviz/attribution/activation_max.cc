// Activation maximisation (Erhan et al. 2009), FlashTorch's GradientAscent: every filter's image is one
// row of a batch, so all of them take each step in one forward and one backward pass.

#include "cnnviz/activation_max.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/memory_guard.h"
#include "cnnviz/saliency.h"
#include "capture/forward_run.h"
#include "model/model_impl.h"

namespace cnnviz {
namespace {

// Activation maximisation's view of the forward: the objective sum over i of mean(output[i, channels[i]])
// of the layer's first output, taken as it returns, as FlashTorch's forward hook takes it (an in-place
// op after the layer, ReLU(inplace=True), changes neither the value nor its gradient).
class ChannelObjective : public ReturnHook {
 public:
  ChannelObjective(int node, std::vector<int64_t> channels) : node_(node), channels_(std::move(channels)) {}
  at::Tensor on_return(int node, const at::Tensor& out) override {
    if (node != node_ || !shape_.empty()) return {};
    shape_ = out.sizes().vec();
    if (out.dim() >= 2 && out.size(0) == static_cast<int64_t>(channels_.size()) &&
        std::all_of(channels_.begin(), channels_.end(), [&](int64_t c) { return c >= 0 && c < out.size(1); })) {
      std::vector<at::Tensor> means;
      for (std::size_t i = 0; i < channels_.size(); ++i) means.push_back(out[static_cast<int64_t>(i)][channels_[i]].mean());
      const at::Tensor terms = at::stack(means);
      objective_ = terms.sum();
      terms_ = terms.detach();
    }
    return {};
  }
  const std::vector<int64_t>& shape() const { return shape_; }  ///< empty: the layer did not return a tensor
  const at::Tensor& objective() const { return objective_; }   ///< undefined: a channel is out of range
  const at::Tensor& terms() const { return terms_; }

 private:
  int node_;
  std::vector<int64_t> channels_;
  std::vector<int64_t> shape_;
  at::Tensor objective_, terms_;
};

}  // namespace

FloatArray start_noise(const ActivationMaxRequest& r) {
  const auto& s = r.input_shape;
  if (s.size() != 4 || s[0] != 1 || (s[1] != 1 && s[1] != 3) || s[2] < 1 || s[3] < 1 || s[2] > 4096 || s[3] > 4096) {
    throw Error::usage("--input must be 1,C,H,W with C = 1 or 3 and H, W up to 4096, not " + shape_to_string(s));
  }
  for (int64_t c = 0; r.normalize && c < s[1]; ++c) {
    if (!(r.std[static_cast<std::size_t>(c)] != 0)) throw Error::usage("--std values must not be 0");
  }
  at::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(r.seed);
  std::vector<at::Tensor> images;
  for (std::size_t f = 0; f < r.filters.size(); ++f) {
    const at::Tensor u = at::rand({s[2], s[3], s[1]}, generator, at::TensorOptions().dtype(at::kFloat));
    at::Tensor x = (150 + 30 * u).floor().div(255).permute({2, 0, 1});
    if (r.normalize) {
      const at::Tensor mean = at::tensor(std::vector<float>(r.mean.begin(), r.mean.begin() + s[1])).view({-1, 1, 1});
      const at::Tensor std = at::tensor(std::vector<float>(r.std.begin(), r.std.begin() + s[1])).view({-1, 1, 1});
      x = (x - mean) / std;
    }
    images.push_back(x);
  }
  return to_float_array(at::stack(images));
}

ActivationMaxResult maximize_activations(Model& model, const ActivationMaxRequest& request) {
  if (request.filters.empty()) throw Error::usage("give at least one filter with --filters");
  if (request.filters.size() > 1024) throw Error::usage("at most 1024 filters at a time");
  if (request.steps < 1 || request.steps > 100000) throw Error::usage("--steps must be 1 to 100000");
  if (!std::isfinite(request.lr) || request.lr <= 0) throw Error::usage("--lr must be a positive number");
  if (request.max_memory_bytes > 0 && request.input_shape.size() == 4) {
    // The start images and their copies (the noise, its stack, the step's input and its FloatArray) exist
    // before the first forward's guard: refuse an absurd batch before making any of them.
    std::vector<int64_t> batch = request.input_shape;
    batch[0] = static_cast<int64_t>(request.filters.size());
    int64_t bytes = 4 * 4;  // float32, four copies
    for (int64_t d : batch) {
      if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes)) bytes = std::numeric_limits<int64_t>::max();
    }
    check_memory(bytes, request.max_memory_bytes, "input " + shape_to_string(batch) + " with its copies");
  }
  const FloatArray start = start_noise(request);
  Model::Impl& impl = model.impl();
  ActivationMaxResult result;
  at::Tensor x = at::from_blob(const_cast<float*>(start.values.data()), start.shape, at::kFloat).clone();
  for (int step = 0; step < request.steps; ++step) {
    CaptureOptions options;
    options.inputs = {InputSpec{x.sizes().vec(), DType::kFloat32}};
    options.input_data = {to_float_array(x)};
    options.max_memory_bytes = step == 0 ? request.max_memory_bytes : 0;
    at::AutoGradMode enable_grad(true);
    ChannelObjective objective(request.layer, request.filters);
    ForwardRequest forward;
    forward.hooks = {&objective};
    forward.input_as_leaf = true;
    forward.gradient_from = 0;  // the whole model
    ForwardRun run = run_forward(impl, options, forward);
    for (auto& note : run.notes) result.notes.push_back(std::move(note));
    if (objective.shape().empty()) throw layer_did_not_run(impl, request.layer);
    if (!objective.objective().defined()) {
      const auto& s = objective.shape();
      const ModuleNode& n = impl.tree().nodes.at(static_cast<std::size_t>(request.layer));
      throw Error::usage("layer '" + n.path + "' outputs " + shape_to_string(s) +
                         (s.size() < 2 ? ", which has no channels" : ", so --filters must be 0 to " + std::to_string(s[1] - 1)));
    }
    at::Tensor g = gradient_of(objective.objective(), run.input_leaf,
                               "the layer's output in '" + impl.file.path + "' does not depend on the input (no gradient path)",
                               "the backward pass of '" + impl.file.path + "' to its input");
    at::NoGradGuard no_grad;
    const at::Tensor terms = objective.terms().to(at::kCPU, at::kFloat).contiguous();
    const std::vector<float> values(terms.data_ptr<float>(), terms.data_ptr<float>() + terms.numel());
    if (step == 0) result.first = values;
    result.last = values;
    g = g.detach().to(at::kCPU, at::kFloat);
    const at::Tensor rms = g.pow(2).mean({1, 2, 3}, /*keepdim=*/true).sqrt();  // per image, as FlashTorch per call
    x = x + g / (rms + 1e-5) * request.lr;
  }
  for (int64_t i = 0; i < x.size(0); ++i) {
    result.inputs.push_back(to_float_array(x[i]));
    result.pictures.push_back(standardize_and_clip(result.inputs.back(), 0.15f, 0.7f));
  }
  return result;
}

}  // namespace cnnviz
