#include "cnnviz/summary_diff.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <tuple>
#include <utility>

#include <fmt/core.h>

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/summary_text.h"
#include "cnnviz/version.h"

namespace cnnviz {
namespace {

// Above this many cells the rename pairing is greedy (in order, each old row with the first fitting
// new row after the last pair) instead of the longest common subsequence.
constexpr std::size_t kMaxLcsCells = std::size_t{1} << 22;

int64_t row_mult_adds(const LayerRecord& r) { return r.is_leaf ? r.mult_adds : r.leaf_mult_adds; }

std::vector<std::size_t> compared_rows(const std::vector<LayerRecord>& rows, int max_depth) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].depth >= 1 && rows[i].depth <= max_depth) out.push_back(i);
  }
  return out;
}

ModuleDiff make_diff(ModuleChange change, const LayerRecord* o, const LayerRecord* n, bool has_input) {
  ModuleDiff d;
  d.change = change;
  const LayerRecord& any = n ? *n : *o;
  d.depth = any.depth;
  d.call_index = any.call_index;
  if (o) {
    d.old_path = o->path;
    d.old_class = o->class_name;
    d.old_params = o->num_params;
    if (has_input) {
      d.old_output_shape = o->output_shape;
      d.old_mult_adds = row_mult_adds(*o);
    }
  }
  if (n) {
    d.new_path = n->path;
    d.new_class = n->class_name;
    d.new_params = n->num_params;
    if (has_input) {
      d.new_output_shape = n->output_shape;
      d.new_mult_adds = row_mult_adds(*n);
    }
  }
  return d;
}

bool figures_differ(const ModuleDiff& d) {
  return d.old_class != d.new_class || d.old_params != d.new_params || d.old_output_shape != d.new_output_shape ||
         d.old_mult_adds != d.new_mult_adds;
}

// A rename: everything but the path is the same.
bool same_but_path(const LayerRecord& o, const LayerRecord& n, bool has_input) {
  if (o.depth != n.depth || o.call_index != n.call_index || o.class_name != n.class_name || o.num_params != n.num_params) return false;
  return !has_input || (o.output_shape == n.output_shape && row_mult_adds(o) == row_mult_adds(n));
}

// Pairs of positions into `olds` and `news` (row indices) that are renames, in order.
std::vector<std::pair<std::size_t, std::size_t>> pair_renames(const std::vector<LayerRecord>& old_rows, const std::vector<std::size_t>& olds,
                                                              const std::vector<LayerRecord>& new_rows, const std::vector<std::size_t>& news,
                                                              bool has_input) {
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  const std::size_t n = olds.size(), m = news.size();
  if (n == 0 || m == 0) return pairs;
  auto fits = [&](std::size_t i, std::size_t j) { return same_but_path(old_rows[olds[i]], new_rows[news[j]], has_input); };
  if ((n + 1) * (m + 1) > kMaxLcsCells) {
    std::size_t next = 0;
    for (std::size_t i = 0; i < n && next < m; ++i) {
      for (std::size_t j = next; j < m; ++j) {
        if (fits(i, j)) {
          pairs.emplace_back(olds[i], news[j]);
          next = j + 1;
          break;
        }
      }
    }
    return pairs;
  }
  // lcs[i][j]: the longest pairing of olds[i..] with news[j..].
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] = fits(i, j) ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  for (std::size_t i = 0, j = 0; i < n && j < m;) {
    if (fits(i, j) && lcs[i][j] == lcs[i + 1][j + 1] + 1) {
      pairs.emplace_back(olds[i], news[j]);
      ++i, ++j;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      ++i;
    } else {
      ++j;
    }
  }
  return pairs;
}

bool within(int64_t old_value, int64_t new_value, double relative) {
  if (old_value == new_value) return true;
  const double limit = relative * std::fabs(static_cast<double>(old_value));
  return std::fabs(static_cast<double>(new_value) - static_cast<double>(old_value)) <= limit;
}

std::string signed_thousands(int64_t n) { return (n >= 0 ? "+" : "-") + with_thousands(n >= 0 ? n : -n); }

// "1,168 -> 1,752 (+584)", or "1,168" when both are the same; a row only one model has shows its value.
std::string number_cell(int64_t old_value, int64_t new_value, bool has_old, bool has_new) {
  if (!has_old) return with_thousands(new_value);
  if (!has_new || old_value == new_value) return with_thousands(old_value);
  return with_thousands(old_value) + " -> " + with_thousands(new_value) + " (" + signed_thousands(new_value - old_value) + ")";
}

std::string shape_cell(const ModuleDiff& d, bool has_old, bool has_new) {
  if (!has_old) return shape_to_string(d.new_output_shape);
  if (!has_new || d.old_output_shape == d.new_output_shape) return shape_to_string(d.old_output_shape);
  return shape_to_string(d.old_output_shape) + " -> " + shape_to_string(d.new_output_shape);
}

std::string text_cell(const std::string& o, const std::string& n, bool has_old, bool has_new) {
  if (!has_old) return n;
  if (!has_new || o == n) return o;
  return o + " -> " + n;
}

std::string total_line(const char* label, const FigurePair& f) {
  std::string line = fmt::format("{}: {}", label, with_thousands(f.old_value));
  if (!f.changed()) return line;
  line += " -> " + with_thousands(f.new_value) + " (" + signed_thousands(f.new_value - f.old_value);
  if (f.old_value != 0) {
    line += fmt::format(", {:+.2f}%", 100.0 * static_cast<double>(f.new_value - f.old_value) / static_cast<double>(f.old_value));
  }
  return line + ")";
}

nlohmann::ordered_json figure_json(int64_t old_value, int64_t new_value, bool has_old, bool has_new) {
  return {{"old", has_old ? nlohmann::ordered_json(old_value) : nlohmann::ordered_json()},
          {"new", has_new ? nlohmann::ordered_json(new_value) : nlohmann::ordered_json()},
          {"delta", (has_new ? new_value : 0) - (has_old ? old_value : 0)}};
}

nlohmann::ordered_json string_or_null(const std::string& s, bool present) {
  return present ? nlohmann::ordered_json(s) : nlohmann::ordered_json();
}

}  // namespace

const char* module_change_name(ModuleChange change) {
  switch (change) {
    case ModuleChange::kChanged: return "changed";
    case ModuleChange::kRenamed: return "renamed";
    case ModuleChange::kRemoved: return "removed";
    case ModuleChange::kAdded: return "added";
  }
  return "changed";
}

SummaryDiff diff_summaries(const std::vector<LayerRecord>& old_rows, const SummaryStats& old_stats,
                           const std::vector<LayerRecord>& new_rows, const SummaryStats& new_stats, int max_depth) {
  SummaryDiff diff;
  diff.has_input = old_stats.has_input && new_stats.has_input;
  diff.params = {old_stats.total_params, new_stats.total_params};
  diff.trainable_params = {old_stats.trainable_params, new_stats.trainable_params};
  if (diff.has_input) diff.mult_adds = {old_stats.total_mult_adds, new_stats.total_mult_adds};

  const std::vector<std::size_t> olds = compared_rows(old_rows, max_depth);
  const std::vector<std::size_t> news = compared_rows(new_rows, max_depth);
  diff.compared_old_rows = static_cast<int>(olds.size());
  diff.compared_new_rows = static_cast<int>(news.size());

  // 1. The same path and call.
  std::map<std::pair<std::string, int>, std::size_t> old_by_key;
  for (const std::size_t i : olds) old_by_key.emplace(std::make_pair(old_rows[i].path, old_rows[i].call_index), i);
  std::map<std::size_t, std::size_t> partner_of_new;  // new row -> old row
  std::map<std::size_t, std::size_t> partner_of_old;  // old row -> new row
  for (const std::size_t j : news) {
    const auto it = old_by_key.find({new_rows[j].path, new_rows[j].call_index});
    if (it != old_by_key.end() && !partner_of_old.count(it->second)) {
      partner_of_new[j] = it->second;
      partner_of_old[it->second] = j;
    }
  }
  // 2. Renames among the rest.
  std::vector<std::size_t> old_left, new_left;
  for (const std::size_t i : olds) {
    if (!partner_of_old.count(i)) old_left.push_back(i);
  }
  for (const std::size_t j : news) {
    if (!partner_of_new.count(j)) new_left.push_back(j);
  }
  std::map<std::size_t, std::size_t> renamed_from;  // new row -> old row
  for (const auto& [i, j] : pair_renames(old_rows, old_left, new_rows, new_left, diff.has_input)) {
    renamed_from[j] = i;
    partner_of_old[i] = j;
  }

  // Rows in the new model's order; a removed row goes after the new row that the nearest paired old
  // row above it became.
  using Key = std::tuple<std::size_t, int, std::size_t>;  // (new row + 1, 0 for new rows / 1 for removed, old row)
  std::vector<std::pair<Key, ModuleDiff>> entries;
  for (const std::size_t j : news) {
    if (const auto same = partner_of_new.find(j); same != partner_of_new.end()) {
      ModuleDiff d = make_diff(ModuleChange::kChanged, &old_rows[same->second], &new_rows[j], diff.has_input);
      if (figures_differ(d)) entries.emplace_back(Key{j + 1, 0, 0}, std::move(d));
    } else if (const auto renamed = renamed_from.find(j); renamed != renamed_from.end()) {
      entries.emplace_back(Key{j + 1, 0, 0}, make_diff(ModuleChange::kRenamed, &old_rows[renamed->second], &new_rows[j], diff.has_input));
    } else {
      entries.emplace_back(Key{j + 1, 0, 0}, make_diff(ModuleChange::kAdded, nullptr, &new_rows[j], diff.has_input));
    }
  }
  std::size_t anchor = 0;  // new row + 1 of the last paired old row so far (0: none)
  for (const std::size_t i : olds) {
    if (const auto p = partner_of_old.find(i); p != partner_of_old.end()) {
      anchor = p->second + 1;
    } else {
      entries.emplace_back(Key{anchor, 1, i}, make_diff(ModuleChange::kRemoved, &old_rows[i], nullptr, diff.has_input));
    }
  }
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& e : entries) diff.modules.push_back(std::move(e.second));
  return diff;
}

DiffTolerance parse_diff_tolerance(const std::vector<std::string>& items) {
  DiffTolerance t;
  for (const std::string& item : items) {
    if (item == "renames") {
      t.renames = true;
      continue;
    }
    const std::size_t colon = item.find(':');
    const std::string name = item.substr(0, colon);
    if (colon == std::string::npos || (name != "params" && name != "mult-adds")) {
      throw Error::usage("--tolerate '" + item + "': give renames, params:R or mult-adds:R (R a fraction such as 0.01, or 1%)");
    }
    std::string value = item.substr(colon + 1);
    double scale = 1.0;
    if (!value.empty() && value.back() == '%') {
      value.pop_back();
      scale = 0.01;
    }
    char* end = nullptr;
    const double r = value.empty() ? -1.0 : std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(r) || r < 0) {
      throw Error::usage("--tolerate '" + item + "': '" + item.substr(colon + 1) +
                         "' is not a relative change; give a number >= 0 such as 0.01, or 1%");
    }
    (name == "params" ? t.params : t.mult_adds) = r * scale;
  }
  return t;
}

bool module_diff_tolerated(const ModuleDiff& m, const DiffTolerance& t) {
  switch (m.change) {
    case ModuleChange::kAdded:
    case ModuleChange::kRemoved: return false;
    case ModuleChange::kRenamed: return t.renames;
    case ModuleChange::kChanged:
      return m.old_class == m.new_class && m.old_output_shape == m.new_output_shape && within(m.old_params, m.new_params, t.params) &&
             within(m.old_mult_adds, m.new_mult_adds, t.mult_adds);
  }
  return false;
}

bool diff_tolerated(const SummaryDiff& diff, const DiffTolerance& t) {
  for (const ModuleDiff& m : diff.modules) {
    if (!module_diff_tolerated(m, t)) return false;
  }
  return within(diff.params.old_value, diff.params.new_value, t.params) &&
         within(diff.trainable_params.old_value, diff.trainable_params.new_value, t.params) &&
         within(diff.mult_adds.old_value, diff.mult_adds.new_value, t.mult_adds);
}

std::string render_diff_text(const SummaryDiff& diff, const std::string& old_name, const std::string& new_name,
                             const DiffTolerance& tolerance) {
  std::vector<std::string> header = {"Change", "Layer", "Class", "Param #"};
  if (diff.has_input) header.insert(header.end(), {"Output Shape", "Mult-Adds"});
  std::vector<std::vector<std::string>> rows;
  for (const ModuleDiff& m : diff.modules) {
    const bool has_old = m.change != ModuleChange::kAdded;
    const bool has_new = m.change != ModuleChange::kRemoved;
    std::string change = module_change_name(m.change);
    if (module_diff_tolerated(m, tolerance)) change += " (ok)";
    std::vector<std::string> row = {change, text_cell(m.old_path, m.new_path, has_old, has_new),
                                    text_cell(m.old_class, m.new_class, has_old, has_new),
                                    number_cell(m.old_params, m.new_params, has_old, has_new)};
    if (diff.has_input) {
      row.push_back(shape_cell(m, has_old, has_new));
      row.push_back(number_cell(m.old_mult_adds, m.new_mult_adds, has_old, has_new));
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line_of = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      line += c + 1 == cells.size() ? cells[c] : fmt::format("{:<{}}  ", cells[c], width[c]);
    }
    return line + "\n";
  };
  std::size_t total_width = 0;
  for (const std::size_t w : width) total_width += w + 2;
  const std::string rule(std::max<std::size_t>(total_width - 2, 60), '=');

  std::string out = "Old: " + old_name + "\nNew: " + new_name + "\n" + rule + "\n";
  if (rows.empty()) {
    out += fmt::format("No module differs ({} rows compared)\n", diff.compared_new_rows);
  } else {
    out += line_of(header) + std::string(rule.size(), '-') + "\n";
    for (const auto& row : rows) out += line_of(row);
  }
  out += rule + "\n" + total_line("Total params", diff.params) + "\n" +
         total_line("Trainable params", diff.trainable_params) + "\n";
  if (diff.has_input) out += total_line("Total mult-adds", diff.mult_adds) + "\n";
  out += rule + "\n";
  if (diff.equal()) return out + "Result: equal\n";
  return out + (diff_tolerated(diff, tolerance) ? "Result: different, within --tolerate\n" : "Result: different\n");
}

nlohmann::ordered_json diff_to_json(const SummaryDiff& diff, const std::string& old_name, const std::string& new_name,
                                    const DiffTolerance& tolerance) {
  nlohmann::ordered_json doc;
  doc["schema"] = "cnnviz.diff";
  doc["schema_version"] = kDiffSchemaVersion;
  doc["cnnviz_version"] = cnnviz_version();
  doc["old"] = {{"path", old_name}, {"rows_compared", diff.compared_old_rows}};
  doc["new"] = {{"path", new_name}, {"rows_compared", diff.compared_new_rows}};
  doc["has_input"] = diff.has_input;
  doc["equal"] = diff.equal();
  doc["tolerated"] = diff_tolerated(diff, tolerance);
  doc["tolerate"] = {{"renames", tolerance.renames}, {"params", tolerance.params}, {"mult_adds", tolerance.mult_adds}};
  auto modules = nlohmann::ordered_json::array();
  for (const ModuleDiff& m : diff.modules) {
    const bool has_old = m.change != ModuleChange::kAdded;
    const bool has_new = m.change != ModuleChange::kRemoved;
    nlohmann::ordered_json j = {
        {"change", module_change_name(m.change)},
        {"old_path", string_or_null(m.old_path, has_old)},
        {"new_path", string_or_null(m.new_path, has_new)},
        {"old_class", string_or_null(m.old_class, has_old)},
        {"new_class", string_or_null(m.new_class, has_new)},
        {"depth", m.depth},
        {"call_index", m.call_index},
        {"params", figure_json(m.old_params, m.new_params, has_old, has_new)},
    };
    if (diff.has_input) {
      j["output_shape"] = {{"old", has_old ? nlohmann::ordered_json(m.old_output_shape) : nlohmann::ordered_json()},
                           {"new", has_new ? nlohmann::ordered_json(m.new_output_shape) : nlohmann::ordered_json()}};
      j["mult_adds"] = figure_json(m.old_mult_adds, m.new_mult_adds, has_old, has_new);
    }
    j["tolerated"] = module_diff_tolerated(m, tolerance);
    modules.push_back(std::move(j));
  }
  doc["modules"] = modules;
  doc["totals"] = {{"params", figure_json(diff.params.old_value, diff.params.new_value, true, true)},
                   {"trainable_params", figure_json(diff.trainable_params.old_value, diff.trainable_params.new_value, true, true)}};
  if (diff.has_input) doc["totals"]["mult_adds"] = figure_json(diff.mult_adds.old_value, diff.mult_adds.new_value, true, true);
  return doc;
}

}  // namespace cnnviz
