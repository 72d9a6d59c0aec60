// Rendering follows torchinfo 1.8.0's formatting.py, model_statistics.py and layer_info.py (the
// *_to_str methods); docs/cli.md lists the rules.

#include "cnnviz/summary_text.h"

#include <cmath>
#include <cstdio>

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"

namespace cnnviz {
namespace {

const char* header_title(Column c) {
  switch (c) {
    case Column::kInputSize: return "Input Shape";
    case Column::kOutputSize: return "Output Shape";
    case Column::kNumParams: return "Param #";
    case Column::kParamsPercent: return "Param %";
    case Column::kKernelSize: return "Kernel Shape";
    case Column::kMultAdds: return "Mult-Adds";
    case Column::kTrainable: return "Trainable";
    case Column::kFlops: return "FLOPs";
  }
  return "";
}

// Python pads by code points, and the tree glyphs are multi-byte in UTF-8.
std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

std::string pad_right(const std::string& s, std::size_t width) {
  const std::size_t n = code_points(s);
  return n >= width ? s : s + std::string(width - n, ' ');
}

std::string rstrip(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string layer_name(const LayerRecord& r, const TextOptions& o) {
  std::string name = r.class_name;
  if (o.show_var_names && !r.var_name.empty()) name += " (" + r.var_name + ")";
  if (o.show_depth && r.depth > 0) name += ": " + std::to_string(r.depth) + "-" + std::to_string(r.depth_index);
  return name;
}

std::string tree_prefix(int depth, bool ascii) {
  if (depth == 0) return "";
  if (depth == 1) return ascii ? "+ " : "├─";
  std::string s;
  for (int i = 0; i < depth - 1; ++i) s += ascii ? "|    " : "│    ";
  return s + (ascii ? "+ " : "└─");
}

std::string shape_cell(const std::vector<int64_t>& shape) { return shape.empty() ? "--" : shape_to_string(shape); }

std::string kernel_cell(const std::optional<KernelSize>& k) {
  if (!k || k->dims.empty()) return "--";
  if (k->is_scalar) return k->dims[0] == 0 ? "--" : std::to_string(k->dims[0]);
  return shape_to_string(k->dims);
}

std::string params_cell(const LayerRecord& r, bool at_max_depth) {
  if (r.num_params == 0) return "--";
  if (r.is_recursive) return "(recursive)";
  if (at_max_depth || r.is_leaf) {
    const std::string n = with_thousands(r.num_params);
    return r.trainable_params ? n : "(" + n + ")";
  }
  return r.leftover_params > 0 ? with_thousands(r.leftover_params) : "--";
}

std::string percent_cell(const LayerRecord& r, bool at_max_depth, int64_t total) {
  const std::string zero = "     --";
  if (total == 0) return zero;
  if (r.is_recursive) return "(recursive)";
  const int64_t params = at_max_depth || r.is_leaf ? r.num_params : r.leftover_params;
  if (params == 0) return zero;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%6.2f%%", 100.0 * static_cast<double>(params) / static_cast<double>(total));
  return buf;
}

std::string mult_adds_cell(const LayerRecord& r, bool at_max_depth) {
  if (r.mult_adds <= 0) return "--";
  if (r.is_leaf) return with_thousands(r.mult_adds);
  if (at_max_depth) return with_thousands(r.leaf_mult_adds);
  return "--";
}

std::string trainable_cell(const LayerRecord& r) {
  if (r.num_params == 0) return "--";
  if (r.trainable_params == 0) return "False";
  if (r.num_params == r.trainable_params) return "True";
  return "Partial";
}

std::string format_row(const std::string& name, const std::vector<std::string>& cells, std::size_t name_width,
                       std::size_t col_width) {
  std::string line = pad_right(name, name_width) + " ";
  for (const auto& c : cells) line += pad_right(c, col_width) + " ";
  return rstrip(line) + "\n";
}

// Python's f"{x:,.2f}".
std::string with_thousands_2f(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  std::string s(buf);
  const std::size_t dot = s.find('.');
  std::string int_part = s.substr(0, dot), frac = s.substr(dot);
  const bool negative = !int_part.empty() && int_part[0] == '-';
  if (negative) int_part.erase(0, 1);
  std::string grouped;
  for (std::size_t i = 0; i < int_part.size(); ++i) {
    if (i && (int_part.size() - i) % 3 == 0) grouped += ',';
    grouped += int_part[i];
  }
  return (negative ? "-" : "") + grouped + frac;
}

// ModelStatistics.format_output_num: ": 11,689,512" (no unit) or " (G): 1.81" (auto T/G/M).
std::string format_count(int64_t n, bool auto_units) {
  double value = static_cast<double>(n);
  std::string unit;
  if (auto_units) {
    if (value >= 1e12) {
      unit = "T";
      value /= 1e12;
    } else if (value >= 1e9) {
      unit = "G";
      value /= 1e9;
    } else {
      unit = "M";
      value /= 1e6;
    }
  }
  const std::string label = unit.empty() ? "" : " (" + unit + ")";
  if (std::floor(value) == value && std::fabs(value) < 9e15) {
    return label + ": " + with_thousands(static_cast<int64_t>(value));
  }
  return label + ": " + with_thousands_2f(value);
}

std::string megabytes(int64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%0.2f", static_cast<double>(bytes) / 1e6);
  return buf;
}

}  // namespace

const std::vector<std::string>& column_names() {
  static const std::vector<std::string> names = {"input_size", "output_size", "num_params", "params_percent",
                                                 "kernel_size", "mult_adds", "trainable", "flops"};
  return names;
}

Column parse_column(std::string_view name) {
  const auto& names = column_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (name == names[i]) return static_cast<Column>(i);
  }
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw Error::usage("--columns: unknown column '" + std::string(name) + "'; valid columns are " + valid);
}

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string render_summary_text(const std::vector<LayerRecord>& records, const SummaryStats& stats,
                                const TextOptions& o) {
  // Name column: 40, or the longest "indent + name" over all rows (hidden ones too), rounded up to 5.
  std::size_t name_width = 40, longest = 0;
  for (const auto& r : records) {
    longest = std::max(longest, code_points(layer_name(r, o)) + static_cast<std::size_t>(r.depth) * 5 + 1);
  }
  if (longest >= name_width) name_width = (longest + 4) / 5 * 5;
  const std::size_t col_width = static_cast<std::size_t>(o.column_width);
  const std::string divider(name_width + col_width * o.columns.size(), '=');

  std::string header = "Layer (type";
  if (o.show_var_names) header += " (var_name)";
  if (o.show_depth) header += ":depth-idx";
  header += ")";
  std::vector<std::string> titles;
  for (Column c : o.columns) titles.push_back(header_title(c));

  std::string out = divider + "\n" + format_row(header, titles, name_width, col_width) + divider + "\n";
  for (const auto& r : records) {
    if (r.depth > o.depth || (o.hide_recursive && r.is_recursive)) continue;
    const bool at_max_depth = r.depth == o.depth;
    std::vector<std::string> cells;
    for (Column c : o.columns) {
      switch (c) {
        case Column::kInputSize: cells.push_back(shape_cell(r.input_shape)); break;
        case Column::kOutputSize: cells.push_back(shape_cell(r.output_shape)); break;
        case Column::kNumParams: cells.push_back(params_cell(r, at_max_depth)); break;
        case Column::kParamsPercent: cells.push_back(percent_cell(r, at_max_depth, stats.total_params)); break;
        case Column::kKernelSize: cells.push_back(kernel_cell(r.kernel_size)); break;
        case Column::kMultAdds: cells.push_back(mult_adds_cell(r, at_max_depth)); break;
        case Column::kTrainable: cells.push_back(trainable_cell(r)); break;
        case Column::kFlops: cells.push_back(r.flops >= 0 ? with_thousands(r.flops) : "--"); break;
      }
    }
    out += format_row(tree_prefix(r.depth, o.ascii_only) + layer_name(r, o), cells, name_width, col_width);
  }
  out += divider + "\n";
  out += "Total params" + format_count(stats.total_params, false) + "\n";
  out += "Trainable params" + format_count(stats.trainable_params, false) + "\n";
  out += "Non-trainable params" + format_count(stats.non_trainable_params, false) + "\n";
  if (stats.has_input) {
    out += "Total mult-adds" + format_count(stats.total_mult_adds, true) + "\n";
    if (stats.total_flops >= 0) {
      // Not torchinfo's: only with the FLOPs column (docs/cli.md, "FLOPs").
      out += "Total FLOPs (fvcore)" + format_count(stats.total_flops, true) + "\n";
      std::string ops;
      for (const auto& [op, calls] : stats.uncounted_ops) ops += (ops.empty() ? "" : ", ") + op + " x" + std::to_string(calls);
      if (!ops.empty()) out += "Not counted (no formula): " + ops + "\n";
    }
    out += divider + "\n";
    out += "Input size (MB): " + megabytes(stats.input_bytes) + "\n";
    out += "Forward/backward pass size (MB): " + megabytes(stats.forward_backward_bytes) + "\n";
    out += "Params size (MB): " + megabytes(stats.param_bytes) + "\n";
    out += "Estimated Total Size (MB): " + megabytes(stats.total_bytes) + "\n";
  }
  out += divider;
  return out;
}

}  // namespace cnnviz
