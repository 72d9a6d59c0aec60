#include "cnnviz/summary.h"

#include "cnnviz/capture.h"
#include "cnnviz/runtime.h"
#include "cnnviz/sha256.h"

namespace cnnviz {

SummaryContext summary_context(const SummaryRequest& request, int64_t file_bytes, int64_t format_version, const ModuleTree& tree,
                               const std::string& device, const std::vector<InputSpec>& example_inputs) {
  SummaryContext ctx;
  ctx.model_path = request.model_path;
  ctx.model_file_bytes = file_bytes;
  ctx.model_format_version = format_version;
  ctx.frozen = tree.frozen;
  ctx.device = device;
  ctx.blas = blas_info().name;
  // A torch.export program knows the inputs it was exported with: without --input, those.
  ctx.inputs = request.inputs.empty() ? example_inputs : request.inputs;
  if (request.compute_sha256) ctx.model_sha256 = sha256_file(request.model_path);
  if (tree.frozen) {
    ctx.notes.push_back("'" + request.model_path +
                        "' is frozen (torch.jit.freeze or optimize_for_inference): it has no submodules to list; "
                        "its totals count " + std::to_string(tree.constant_tensors) +
                        " constant tensors, with batch norm folded into convolutions");
  }
  return ctx;
}

Summary summarize_model(const SummaryRequest& request) {
  Model model = load_model(request.model_path, request.device);
  return summarize_loaded_model(model, request);
}

Summary summarize_loaded_model(Model& model, const SummaryRequest& request) {
  const ModuleTree& tree = model.tree();

  Summary summary;
  summary.context = summary_context(request, model.file().file_bytes, model.file().format_version, tree, model.device_name(),
                                    model.file().example_inputs);
  SummaryContext& ctx = summary.context;
  const std::vector<InputSpec>& inputs = ctx.inputs;
  if (inputs.empty()) {
    summary.records = build_layer_records_without_input(tree);
  } else {
    CaptureOptions capture_options;
    capture_options.inputs = inputs;
    capture_options.max_memory_bytes = request.max_memory_bytes;
    capture_options.use_recorded_shapes = request.use_recorded_shapes;
    capture_options.count_flops = request.count_flops;
    CaptureResult capture = capture_module_calls(model, capture_options);
    summary.records = build_layer_records(tree, capture.calls, request.count_flops);
    ctx.memory_estimate_bytes = capture.estimated_bytes;
    ctx.notes.insert(ctx.notes.end(), capture.notes.begin(), capture.notes.end());
    summary.stats = compute_summary_stats(summary.records, tree, inputs);
    if (request.count_flops) {
      summary.stats.total_flops = capture.total_flops;
      summary.stats.uncounted_ops = capture.uncounted_ops;
    }
    return summary;
  }
  summary.stats = compute_summary_stats(summary.records, tree, inputs);
  return summary;
}

}  // namespace cnnviz
