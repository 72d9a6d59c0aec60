#pragma once

// Private to libcnnviz: a forward pass that prepares d(score)/d(activation) for one module, for the
// CAM family. Lives in capture.cc with the other capture ops.

#include <torch/script.h>

#include <vector>

#include "cnnviz/capture.h"
#include "model_impl.h"

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

/// The first output tensor of a plain no-grad forward of `input` on the model's device (ScoreCAM's
/// masked inputs). Errors as capture_module_calls, whose memory guard it applies first when
/// max_memory_bytes > 0 (its notes go to `notes`).
at::Tensor run_plain_forward(Model::Impl& impl, const at::Tensor& input, int64_t max_memory_bytes = 0,
                             std::vector<std::string>* notes = nullptr);

}  // namespace cnnviz
