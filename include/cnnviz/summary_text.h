#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/layer_record.h"
#include "cnnviz/summary_stats.h"

namespace cnnviz {

/// A column of the summary table, named as torchinfo's col_names.
enum class Column { kInputSize, kOutputSize, kNumParams, kParamsPercent, kKernelSize, kMultAdds, kTrainable, kFlops };

/// Every Column's name ("input_size", ..., "trainable"), in enum order: the one name table used by the
/// CLI and JSON.
const std::vector<std::string>& column_names();
/// Parses a column name; throws Error(kUsage) listing the valid names.
Column parse_column(std::string_view name);

/// How the table is laid out: torchinfo's summary() options.
struct TextOptions {
  std::vector<Column> columns = {Column::kOutputSize, Column::kNumParams};
  int depth = 3;                 ///< rows deeper than this are hidden (still counted in totals)
  bool show_depth = true;        ///< row_settings "depth": ": 2-1" after the class name
  bool show_var_names = false;   ///< row_settings "var_names": " (conv1)" after the class name
  bool ascii_only = false;       ///< row_settings "ascii_only": "+ " and "|    " tree glyphs
  bool hide_recursive = false;   ///< row_settings "hide_recursive_layers"
  int column_width = 25;
};

/// The summary table, byte for byte as torchinfo 1.8.0 prints it (with Python <= 3.10 enum
/// formatting), ending without a newline as str(ModelStatistics) does.
std::string render_summary_text(const std::vector<LayerRecord>& records, const SummaryStats& stats,
                                const TextOptions& options);

/// "1,234,567", Python's f"{n:,}".
std::string with_thousands(int64_t n);

}  // namespace cnnviz
