#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cnnviz/float_array.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/model.h"

namespace cnnviz {

/// One call of one submodule's forward, as it happened: shapes only, no activation is kept.
struct ModuleCall {
  int node = -1;                      ///< index into ModuleTree::nodes
  std::vector<int64_t> input_shape;   ///< first tensor of the first argument ([] if none)
  std::vector<int64_t> output_shape;  ///< torchinfo's rule: the tensor, a tuple's first, a dict's last
  int64_t output_elem_bytes = 0;      ///< element size of that output tensor (0 if none)
  bool finished = false;              ///< the call returned (false if the forward failed inside it)
  int finish_order = -1;              ///< 0 for the first call to return, 1 for the next, ...
  /// fvcore's FLOPs of every ATen operator run inside this call, nested calls included
  /// (CaptureOptions::count_flops; flop_count.h).
  int64_t flops = 0;
};

/// What capture_module_calls needs besides the model.
struct CaptureOptions {
  std::vector<InputSpec> inputs;  ///< one per forward argument
  /// Real input values (float32, one per forward argument, e.g. a preprocessed image), used instead of
  /// random ones; `inputs` must then give their shapes.
  std::vector<FloatArray> input_data;
  int64_t max_memory_bytes = 0;   ///< refuse (Error kResource) when the estimate exceeds this; 0 = no limit
  /// Nodes whose output is copied, as it is when the module returns (before any later in-place op
  /// changes it), into CaptureResult::outputs. The first call of each counts.
  std::vector<int> keep_outputs;
  /// Dry-run the model on the meta device first: the memory guard, and CaptureResult::estimated_bytes.
  /// false when the caller has already checked this forward (check_capture_memory, check_image_forward).
  bool dry_run = true;
  /// When only shapes are asked for (no keep_outputs, no input_data) and the file records every shape
  /// of a forward at exactly these inputs (a `.pt2` at the shapes it was exported with), the calls are
  /// read from that record and nothing runs. false runs the model all the same.
  bool use_recorded_shapes = true;
  /// Count fvcore's FLOPs of every ATen operator the forward runs (ModuleCall::flops,
  /// CaptureResult::total_flops and uncounted_ops). Runs the model: no recorded shapes.
  bool count_flops = false;
};

/// The calls of one forward pass in call order (a parent before its children), plus notes for the user.
struct CaptureResult {
  std::vector<ModuleCall> calls;
  int64_t estimated_bytes = 0;     ///< memory estimate the guard checked
  std::vector<std::string> notes;  ///< e.g. why the meta dry run was skipped
  std::map<int, FloatArray> outputs;  ///< node -> its first call's output (float32, on the CPU)
  bool ran = true;                    ///< false: the calls are the file's record (use_recorded_shapes)
  /// count_flops: fvcore's FLOPs of the whole forward, and the operators that ran without a formula
  /// (name, calls), sorted by name: reported, never counted as zero.
  int64_t total_flops = 0;
  std::vector<std::pair<std::string, int64_t>> uncounted_ops;
};

/// What the memory guard found.
struct MemoryCheck {
  int64_t estimated_bytes = 0;
  /// The calls of the meta-device dry run, shapes as a real forward makes them; empty when the model
  /// does not run on the meta device (`notes` says why).
  std::vector<ModuleCall> calls;
  std::vector<std::string> notes;
  bool recorded = false;  ///< `calls` are the file's record of these shapes, not a dry run
};

/// The memory guard of capture_module_calls on its own, for callers that check before they build the
/// inputs (before preprocessing an image to --input, say): only options.inputs' shapes are used, and
/// `extra_bytes` held besides the run are added. `gradient_from` >= 0 estimates a gradient run from
/// that node, as the CAM family makes (0, the root: everything counts twice). Throws Error(kResource)
/// above options.max_memory_bytes (0: never), and kData for a wrong input count.
MemoryCheck check_capture_memory(Model& model, const CaptureOptions& options, int64_t extra_bytes = 0, int gradient_from = -1);

/// Runs the model once on random inputs (torch.rand, as torchinfo; zeros for int64) and records every
/// submodule call (or reads them from the file's record: CaptureOptions::use_recorded_shapes). Before allocating anything it checks the input count against the forward's
/// signature (Error kData) and dry-runs the model on PyTorch's `meta` device to estimate memory
/// (inputs + every leaf call's output), refusing with Error(kResource) above the limit. A failing
/// forward throws Error(kExecution) naming the module it failed in and the last one that finished.
CaptureResult capture_module_calls(Model& model, const CaptureOptions& options);

}  // namespace cnnviz
