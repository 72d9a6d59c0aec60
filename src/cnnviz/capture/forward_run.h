#pragma once

// Private to libcnnviz: the instrumented forward that the features build on. The capture core records
// module calls and copies of chosen outputs (capture_module_calls); a feature that needs more registers
// a ReturnHook, which sees each module's output tensor as the module returns (the runtime's
// CallObserver::on_tensor_return; TorchScript's tap op) and may hand on another tensor instead. The hooks live with their features: the activation leaf with the CAMs
// (attribution/cam.cc), guided backpropagation with saliency, the channel objective with activation
// maximisation.

#include <torch/script.h>

#include <string>
#include <vector>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "model/model_impl.h"

namespace cnnviz {

/// A feature's view of module returns during one forward.
class ReturnHook {
 public:
  virtual ~ReturnHook() = default;
  /// Module `node` returns the tensor `x` (every call, in the order they return), before any code after
  /// the module sees it. Return a defined tensor to hand on instead of `x`, or an undefined one to leave
  /// `x` as it is; the hooks after this one see the replacement.
  virtual at::Tensor on_return(int node, const at::Tensor& x) = 0;
  /// Module `node` has returned `output`, whatever its type (a dict of maps, a tuple), after on_return
  /// replaced it if it was a tensor. Read-only: nothing is handed on.
  virtual void on_output(int /*node*/, const c10::IValue& /*output*/) {}
};

/// What a forward needs besides its inputs.
struct ForwardRequest {
  std::vector<ReturnHook*> hooks;
  bool input_as_leaf = false;  ///< the model's first input becomes an autograd leaf (saliency, maximisation)
  /// The memory guard (when options.max_memory_bytes > 0): leaf outputs from this node's first call on
  /// count twice, as a backward pass keeps them (0: the whole model; -1: no backward).
  int gradient_from = -1;
};

/// One forward.
struct ForwardRun {
  c10::IValue output;
  at::Tensor input_leaf;           ///< with input_as_leaf: the model's first input
  std::vector<ModuleCall> calls;
  std::vector<std::string> notes;  ///< from the memory guard
};

/// One forward from options.input_data (or random inputs) with the request's hooks installed, behind
/// the memory guard when options.max_memory_bytes > 0. Errors as capture_module_calls.
ForwardRun run_forward(Model::Impl& impl, const CaptureOptions& options, const ForwardRequest& request);

/// The first output tensor of a plain no-grad forward of `input` on the model's device (ScoreCAM's
/// masked inputs). Errors as capture_module_calls, whose memory guard it applies first when
/// max_memory_bytes > 0 (its notes go to `notes`).
at::Tensor run_plain_forward(Model::Impl& impl, const at::Tensor& input, int64_t max_memory_bytes = 0,
                             std::vector<std::string>* notes = nullptr);

/// d score / d leaf, the one backward of every attribution. Error(kModel, `no_path`) when the score
/// does not depend on the leaf; Error(kExecution, "`backward` failed: ...") when autograd fails.
/// `retain_graph` keeps the graph for another backward from the same forward (--top-k).
at::Tensor gradient_of(const at::Tensor& score, const at::Tensor& leaf, const std::string& no_path, const std::string& backward,
                       bool retain_graph = false);

/// The general form of gradient_of: d(sum of `output` * `grad_output`) / d each of `leaves` in one backward
/// (an undefined `grad_output`: `output` is a scalar), an undefined tensor for a leaf the output does not
/// depend on. `create_graph` records the backward itself, for a second derivative (ShapleyCAM's
/// Hessian-vector product). Error(kExecution) or Error(kModel) as gradient_of when autograd fails.
std::vector<at::Tensor> gradients_of(const at::Tensor& output, const std::vector<at::Tensor>& leaves, const std::string& backward,
                                     bool retain_graph, bool create_graph = false, const at::Tensor& grad_output = {});

/// Error(kModel): layer `node` did not run for this input or returned no tensor.
Error layer_did_not_run(const Model::Impl& impl, int node);

}  // namespace cnnviz
