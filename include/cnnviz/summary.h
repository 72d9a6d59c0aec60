#pragma once

#include <string>
#include <vector>

#include "cnnviz/input_spec.h"
#include "cnnviz/layer_record.h"
#include "cnnviz/model.h"
#include "cnnviz/summary_context.h"
#include "cnnviz/summary_stats.h"

namespace cnnviz {

/// What to summarise and how.
struct SummaryRequest {
  std::string model_path;
  DeviceKind device = DeviceKind::kCpu;
  std::vector<InputSpec> inputs;   ///< empty: list modules and parameters only, no forward
  int64_t max_memory_bytes = 0;    ///< 0: no limit
  bool compute_sha256 = false;     ///< hash the model file (for JSON)
  /// A `.pt2` at the shapes it was exported with is summarised from the shapes its program records,
  /// running nothing; false runs it (CaptureOptions::use_recorded_shapes).
  bool use_recorded_shapes = true;
  /// Count fvcore's FLOPs per call (LayerRecord::flops, SummaryStats::total_flops): runs the model.
  bool count_flops = false;
};

/// A finished summary: rows, totals and context, all plain data.
struct Summary {
  std::vector<LayerRecord> records;
  SummaryStats stats;
  SummaryContext context;
};

/// What every summary of request.model_path starts from, however it is computed (a loaded model, or the
/// file alone: archive_summary.h): the path, the file's size and format version, `device`, the BLAS in
/// use, the SHA-256 when asked, the inputs (request.inputs, else `example_inputs`), and the note a
/// frozen model's tree gets.
SummaryContext summary_context(const SummaryRequest& request, int64_t file_bytes, int64_t format_version, const ModuleTree& tree,
                               const std::string& device, const std::vector<InputSpec>& example_inputs);

/// load_model -> capture_module_calls -> build_layer_records -> compute_summary_stats. Throws Error.
Summary summarize_model(const SummaryRequest& request);

/// The same for a model already loaded from request.model_path (request.device is not used): the
/// summary `cnnviz report` embeds, from the model its pictures come from.
Summary summarize_loaded_model(Model& model, const SummaryRequest& request);

}  // namespace cnnviz
