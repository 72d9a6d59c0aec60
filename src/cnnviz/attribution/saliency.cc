// Gradient saliency: one forward of the input as an autograd leaf (guided methods change the ReLU
// modules' backward), one backward of the target class's raw score, then a method step (SmoothGrad's
// averaging, Gradient x Input's product), a reduction over channels and a scaling into [0, 1].
// FlashTorch's Backprop returns the same gradients, with guided=False and guided=True.

#include "cnnviz/saliency.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/script.h>

#include <cmath>
#include <optional>
#include <unordered_set>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/name_table.h"
#include "attribution/target_score.h"
#include "capture/forward_run.h"
#include "model/model_impl.h"

namespace cnnviz {
namespace {

// How the backward pass goes through the outputs of torch.nn.ReLU modules.
enum class ReluBackward {
  kPlain,              // autograd's own
  kGuided,             // guided backpropagation (Springenberg et al. 2015): only positive gradients pass
  kGuidedTimesOutput,  // FlashTorch's guided=True: the positive gradient times the ReLU's output
};

// Guided backpropagation at a ReLU's output y: the identity forward; backward, the gradient's positive
// part (times y for FlashTorch's variant). ReLU's own backward then keeps it only where y > 0, so
// together they give max(g, 0) * [y > 0] (Springenberg et al.) or max(g, 0) * y (FlashTorch).
struct GuidedGradient : public torch::autograd::Function<GuidedGradient> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& y, bool times_output) {
    ctx->saved_data["times_output"] = times_output;
    if (times_output) ctx->save_for_backward({y});
    return y.clone();  // a new tensor: code after the module may change its output in place
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    at::Tensor g = grads[0].clamp_min(0);
    if (ctx->saved_data["times_output"].toBool()) g = g * ctx->get_saved_variables()[0];
    return {g, at::Tensor()};
  }
};

// The ModuleTree nodes that are torch.nn.ReLU modules.
std::vector<int> relu_module_nodes(const Model::Impl& impl) {
  std::vector<int> nodes;
  const ModuleTree& tree = impl.tree();
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
    if (tree.nodes[i].qualified_class == "torch.nn.modules.activation.ReLU") nodes.push_back(static_cast<int>(i));
  }
  return nodes;
}

// Saliency's view of the forward: each output of a torch.nn.ReLU module that autograd records passes
// through GuidedGradient.
class GuidedRelu : public ReturnHook {
 public:
  GuidedRelu(const Model::Impl& impl, bool times_output) : times_output_(times_output) {
    const std::vector<int> nodes = relu_module_nodes(impl);
    if (nodes.empty()) {
      throw Error(ErrorKind::kModel, "'" + impl.file.path + "' has no torch.nn.ReLU modules, which guided backpropagation changes; "
                                                          "use --method vanilla");
    }
    relus_.insert(nodes.begin(), nodes.end());
  }
  at::Tensor on_return(int node, const at::Tensor& x) override {
    if (!relus_.count(node) || !x.requires_grad()) return {};
    return GuidedGradient::apply(x, times_output_);
  }

 private:
  std::unordered_set<int> relus_;
  bool times_output_;
};

struct GradientPass {
  at::Tensor scores;    // [N, K] float32 on the CPU (undefined unless the output is [N, K])
  at::Tensor gradient;  // [N, C, H, W] float32 on the CPU
  int64_t target = 0;   // the resolved index
  at::Tensor mask;      // seg targets: row 0's mask [H, W]
  Target resolved;      // the target with its index (and a box target's box) resolved from row 0
  std::vector<std::string> notes;
};

// One forward of `batch` and one backward of the sum over its rows of their scores under `target`
// (each row's gradient is its own). `index`: the target's index, or none for row 0's default
// (top-1 class, seg's auto class); `mask` (seg only): the mask every row uses, or undefined for row 0's.
GradientPass input_gradients(Model::Impl& impl, const FloatArray& batch, const Target& target, std::optional<int64_t> index,
                             const at::Tensor& mask, int64_t max_memory_bytes, ReluBackward relu = ReluBackward::kPlain) {
  CaptureOptions options;
  options.inputs = {InputSpec{batch.shape, DType::kFloat32}};
  options.input_data = {batch};
  options.max_memory_bytes = max_memory_bytes;
  at::AutoGradMode enable_grad(true);  // the score below is recorded too, whatever the caller's mode
  std::optional<GuidedRelu> guided;
  ForwardRequest forward;
  forward.input_as_leaf = true;
  forward.gradient_from = 0;  // the whole model
  if (relu != ReluBackward::kPlain) {
    guided.emplace(impl, relu == ReluBackward::kGuidedTimesOutput);
    forward.hooks = {&*guided};
  }
  ForwardRun run = run_forward(impl, options, forward);
  const int64_t n = batch.shape.at(0);
  GradientPass pass;
  pass.notes = std::move(run.notes);
  const std::string no_path = "the target score of '" + impl.file.path + "' does not depend on its input (no gradient path)";
  const std::string backward = "the backward pass of '" + impl.file.path + "' to its input";
  if (target.kind == TargetKind::kBox) {
    // Every row explains row 0's box (a given one, or row 0's best detection): SmoothGrad's noisy copies
    // keep the box the plain image resolved.
    const std::vector<DetectionTensors> detections = detections_of(impl, run.output, n, "saliency maps");
    pass.resolved = resolve_box_target(detections.at(0), target);
    pass.target = *pass.resolved.index;
    std::vector<at::Tensor> scores;
    for (const DetectionTensors& d : detections) scores.push_back(box_score(d, pass.resolved));
    pass.gradient = gradient_of(at::stack(scores).sum(), run.input_leaf, no_path, backward).detach().to(at::kCPU, at::kFloat).contiguous();
    return pass;
  }
  const at::Tensor out = target_output(impl, run.output, n, target, "saliency maps");
  const at::Tensor detached = out.detach().to(at::kCPU, at::kFloat).contiguous();
  if (detached.dim() == 2) pass.scores = detached;
  pass.target = index ? *index : default_index(detached[0], target);
  check_target_index(detached, target, pass.target);
  const at::Tensor targets = at::full({n}, pass.target, at::kLong);
  at::Tensor masks;
  if (target.kind == TargetKind::kSegmentation) {
    masks = mask.defined() ? mask.unsqueeze(0).expand({n, mask.size(0), mask.size(1)}) : segmentation_masks(out, target, targets.narrow(0, 0, 1)).expand({n, out.size(2), out.size(3)});
    pass.mask = masks[0];
  }
  pass.resolved = target;
  pass.resolved.index = static_cast<int>(pass.target);
  const at::Tensor g = gradient_of(target_scores(out, target, targets, masks).sum(), run.input_leaf, no_path, backward);
  pass.gradient = g.detach().to(at::kCPU, at::kFloat).contiguous();
  return pass;
}

at::Tensor as_tensor(const FloatArray& a) {
  return at::from_blob(const_cast<float*>(a.values.data()), a.shape, at::kFloat);
}

at::Tensor standardize_clip(const at::Tensor& t, float saturation, float brightness) {
  at::Tensor std = t.std();  // unbiased, as torch.Tensor.std()
  if (std.item<float>() == 0) std = std + 1e-7;
  return ((t - t.mean()) / std * saturation + brightness).clamp(0, 1);
}

// SmoothGrad: the mean gradient of `samples` copies x + N(0, sigma^2), sigma = noise * (max(x) - min(x)),
// `batch_size` copies per forward (the first behind the memory guard).
at::Tensor smooth_gradient(Model::Impl& impl, const FloatArray& input, const SaliencyRequest& request, const GradientPass& first,
                           std::vector<std::string>& notes) {
  const at::Tensor x = as_tensor(input);
  const double sigma = request.noise * (x.max().item<double>() - x.min().item<double>());
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(request.seed);
  at::Tensor sum = at::zeros(x.sizes().slice(1), at::kFloat);
  for (int start = 0; start < request.samples; start += request.batch_size) {
    const int count = std::min(request.batch_size, request.samples - start);
    std::vector<at::Tensor> copies;
    for (int s = 0; s < count; ++s) {
      copies.push_back(x + at::randn(x.sizes(), generator, at::TensorOptions().dtype(at::kFloat)) * sigma);
    }
    GradientPass pass = input_gradients(impl, to_float_array(at::cat(copies)), first.resolved, first.target, first.mask,
                                        start == 0 && !request.input_checked ? request.max_memory_bytes : 0);
    for (auto& note : pass.notes) notes.push_back(std::move(note));
    sum += pass.gradient.sum(0);
  }
  return sum / request.samples;
}

}  // namespace

FloatArray standardize_and_clip(const FloatArray& values, float saturation, float brightness) {
  at::NoGradGuard no_grad;
  return to_float_array(standardize_clip(as_tensor(values), saturation, brightness));
}

SaliencyResult compute_saliency(Model& model, const FloatArray& input, const SaliencyRequest& request) {
  if (input.dims() != 4 || input.shape[0] != 1) {
    throw Error(ErrorKind::kData, "a saliency map takes one image [1, C, H, W], not " + shape_to_string(input.shape));
  }
  if (request.samples < 1 || request.samples > 10000) throw Error::usage("--samples must be 1 to 10000");
  if (!(request.noise >= 0 && request.noise <= 10)) throw Error::usage("--noise must be 0 to 10 (a share of the input's range)");
  if (request.batch_size < 1) throw Error::usage("--batch-size must be at least 1");
  Model::Impl& impl = model.impl();
  const ReluBackward relu = request.method == SaliencyMethod::kGuided            ? ReluBackward::kGuided
                            : request.method == SaliencyMethod::kGuidedFlashTorch ? ReluBackward::kGuidedTimesOutput
                                                                                 : ReluBackward::kPlain;
  std::optional<int64_t> index;
  if (request.target.index) index = *request.target.index;
  GradientPass first = input_gradients(impl, input, request.target, index, {}, request.input_checked ? 0 : request.max_memory_bytes, relu);
  SaliencyResult result;
  result.notes = std::move(first.notes);
  result.target_class = static_cast<int>(first.target);
  result.target = target_text(first.resolved, result.target_class);
  if (first.scores.defined()) result.scores.assign(first.scores.data_ptr<float>(), first.scores.data_ptr<float>() + first.scores.size(1));

  at::NoGradGuard no_grad;
  at::Tensor g = first.gradient[0];  // [C, H, W]
  switch (request.method) {
    case SaliencyMethod::kVanilla:
    case SaliencyMethod::kGuided:
    case SaliencyMethod::kGuidedFlashTorch:
      break;  // the first pass's gradient, with the ReLUs' backward as the method says
    case SaliencyMethod::kSmoothGrad:
      g = smooth_gradient(impl, input, request, first, result.notes);
      break;
    case SaliencyMethod::kGradientTimesInput:
      g = g * as_tensor(input)[0];
      break;
  }
  const at::Tensor reduced = request.reduce == SaliencyReduce::kAbsMax ? std::get<0>(g.abs().max(0)) : std::get<0>(g.max(0));
  const at::Tensor map = request.scale == SaliencyScale::kMinMax ? scale_min_max(reduced) : standardize_clip(reduced, 0.1f, 0.5f);
  result.gradient = to_float_array(g);
  result.map = to_float_array(map);
  return result;
}

}  // namespace cnnviz
