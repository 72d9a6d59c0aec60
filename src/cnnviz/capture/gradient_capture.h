#pragma once

// Private to libcnnviz: forward passes that prepare d(score)/d(activation) for one module (the CAM
// family) or d(score)/d(input) (saliency maps). Lives in capture.cc with the other capture ops.

#include <torch/script.h>

#include <vector>

#include "cnnviz/capture.h"
#include "model/model_impl.h"

namespace cnnviz {

/// One forward from options.input_data. `activation` is the target node's output (its first call) as a
/// leaf that requires grad; `output` the model's output, recorded by autograd from `activation` on only
/// (parameters below the target get no graph and no gradients). Throws Error(kModel) when the target
/// did not run or returned no tensor, and the errors of capture_module_calls, whose memory guard it
/// applies when options.max_memory_bytes > 0.
struct GradientRun {
  c10::IValue output;
  at::Tensor activation;
  std::vector<ModuleCall> calls;
  std::vector<std::string> notes;  ///< from the memory guard
};
GradientRun run_for_activation_gradient(Model::Impl& impl, const CaptureOptions& options, int target_node);

/// How the backward pass goes through the outputs of torch.nn.ReLU modules.
enum class ReluBackward {
  kPlain,              ///< autograd's own
  kGuided,             ///< guided backpropagation (Springenberg et al. 2015): only positive gradients pass
  kGuidedTimesOutput,  ///< FlashTorch's guided=True: the positive gradient times the ReLU's output
};

/// The ModuleTree nodes that are torch.nn.ReLU modules (for guided backpropagation).
std::vector<int> relu_module_nodes(const Model::Impl& impl);

/// One forward from options.input_data (a float input) recorded for autograd from the input itself:
/// `activation` is the model's first input as a leaf that requires grad (saliency maps). `relu`:
/// with a guided mode, each output of a torch.nn.ReLU module passes through an op that is the
/// identity forward and clips (and scales) the gradient backward; Error(kModel) if the model has no
/// such module. The memory guard counts the whole model's outputs twice, as a backward pass keeps them.
GradientRun run_for_input_gradient(Model::Impl& impl, const CaptureOptions& options, ReluBackward relu = ReluBackward::kPlain);

/// Activation maximisation's forward: the input (options.input_data, [N, ...]) as an autograd leaf, and
/// the objective sum over i of mean(output[i, channels[i]]) of node `node`'s output, taken as the
/// module returns (before any in-place op after it), so that d objective / d input gives each image
/// the gradient of its own channel. Throws Error(kModel) when the node did not run or returned no
/// tensor, Error(kUsage) when a channel is out of range, and the errors of capture_module_calls, whose
/// memory guard it applies (the whole model counted twice) when options.max_memory_bytes > 0.
struct ObjectiveRun {
  at::Tensor input;
  at::Tensor objective;
  std::vector<float> values;       ///< each image's mean, as the objective sums them
  std::vector<std::string> notes;  ///< from the memory guard
};
ObjectiveRun run_for_channel_objective(Model::Impl& impl, const CaptureOptions& options, int node, const std::vector<int64_t>& channels);

/// The model's output (its first tensor, torchinfo's rule) as class scores [n, K]; Error(kData) saying
/// that `explainers` ("CAMs", "saliency maps") explain classifiers otherwise.
const at::Tensor& class_scores(const Model::Impl& impl, const c10::IValue& output, int64_t n, const std::string& explainers);

/// Error(kUsage) unless 0 <= c < classes, naming --class and the valid range.
void check_class_index(int64_t c, int64_t classes);

/// pytorch-grad-cam's scale_cam_image on one map: x - min, / (1e-7 + max).
at::Tensor scale_min_max(const at::Tensor& m);

/// The first output tensor of a plain no-grad forward of `input` on the model's device (ScoreCAM's
/// masked inputs). Errors as capture_module_calls, whose memory guard it applies first when
/// max_memory_bytes > 0 (its notes go to `notes`).
at::Tensor run_plain_forward(Model::Impl& impl, const at::Tensor& input, int64_t max_memory_bytes = 0,
                             std::vector<std::string>* notes = nullptr);

}  // namespace cnnviz
