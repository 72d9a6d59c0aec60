#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnnviz/layer_record.h"
#include "cnnviz/summary_stats.h"

namespace cnnviz {

/// What happened to one module row between two summaries.
enum class ModuleChange {
  kChanged,  ///< the same path and call, with a different class, parameter count, output shape or mult-adds
  kRenamed,  ///< a path only the old model has, paired with one only the new model has (diff_summaries)
  kRemoved,  ///< a path only the old model has
  kAdded,    ///< a path only the new model has
};

/// "changed", "renamed", "removed", "added": the names text and JSON use.
const char* module_change_name(ModuleChange change);

/// One module row that differs. The side a row is missing from (kAdded: old, kRemoved: new) has an
/// empty path and class and zero figures. Plain data: renderers decide how it looks.
struct ModuleDiff {
  ModuleChange change = ModuleChange::kChanged;
  std::string old_path;
  std::string new_path;
  std::string old_class;
  std::string new_class;
  int depth = 0;
  int call_index = 0;
  int64_t old_params = 0;
  int64_t new_params = 0;
  std::vector<int64_t> old_output_shape;  ///< empty without a forward pass
  std::vector<int64_t> new_output_shape;
  int64_t old_mult_adds = 0;  ///< a leaf's own, a container's Σ over its leaves (as the JSON's mult_adds)
  int64_t new_mult_adds = 0;
};

/// A figure of both models.
struct FigurePair {
  int64_t old_value = 0;
  int64_t new_value = 0;
  bool changed() const { return old_value != new_value; }
};

/// Two summaries compared: the rows that differ, in the new model's row order (removed rows where the
/// old model had them), and the totals.
struct SummaryDiff {
  std::vector<ModuleDiff> modules;
  int compared_old_rows = 0;  ///< rows compared (depth 1 to the depth limit), old model
  int compared_new_rows = 0;
  FigurePair params;           ///< SummaryStats::total_params
  FigurePair trainable_params;
  FigurePair mult_adds;        ///< only meaningful when has_input
  bool has_input = false;      ///< both summaries ran a forward pass: shapes and mult-adds compared
  bool equal() const { return modules.empty() && !params.changed() && !trainable_params.changed() && !mult_adds.changed(); }
};

/// Compares two summaries' rows of depth 1 to `max_depth` (the root's figures are the totals):
///  1. rows with the same path and call index are the same module; they differ when class,
///     parameter count, output shape or mult-adds differ (kChanged);
///  2. the rows left over on each side, in row order, are paired as renames by the longest common
///     subsequence whose pairs have the same depth, call index, class, parameter count and output
///     shape (and mult-adds): a module whose path changed and nothing else, in the same place
///     relative to the other unpaired rows;
///  3. what is still left is kRemoved (old) or kAdded (new).
/// Output shapes and mult-adds are compared only when both summaries ran a forward pass.
SummaryDiff diff_summaries(const std::vector<LayerRecord>& old_rows, const SummaryStats& old_stats,
                           const std::vector<LayerRecord>& new_rows, const SummaryStats& new_stats, int max_depth);

/// Which differences `cnnviz diff` accepts (--tolerate). The relative limits compare |new - old| with
/// |old| (an old value of 0 tolerates no change).
struct DiffTolerance {
  bool renames = false;        ///< "renames": renamed rows are accepted
  double params = 0.0;         ///< "params:R": parameter counts, per row and total
  double mult_adds = 0.0;      ///< "mult-adds:R": mult-adds, per row and total
};

/// Parses --tolerate items: "renames", "params:R", "mult-adds:R" with 0 <= R (a fraction: 0.01 is
/// 1%). Throws Error(kUsage) naming the item.
DiffTolerance parse_diff_tolerance(const std::vector<std::string>& items);

/// Whether `diff` is accepted by `tolerance` as a whole: added and removed rows, class and output-shape
/// changes never are.
bool diff_tolerated(const SummaryDiff& diff, const DiffTolerance& tolerance);

/// Whether one row's difference is accepted by `tolerance`.
bool module_diff_tolerated(const ModuleDiff& m, const DiffTolerance& tolerance);

/// The diff as a table: one row per difference, then the totals (docs/cli.md, `cnnviz diff`).
/// Ends with a newline.
std::string render_diff_text(const SummaryDiff& diff, const std::string& old_name, const std::string& new_name,
                             const DiffTolerance& tolerance);

/// Version of the JSON document diff_to_json writes (docs/json-schema.md).
constexpr int kDiffSchemaVersion = 1;

/// The diff as a JSON document (schema "cnnviz.diff").
nlohmann::ordered_json diff_to_json(const SummaryDiff& diff, const std::string& old_name, const std::string& new_name,
                                    const DiffTolerance& tolerance);

}  // namespace cnnviz
