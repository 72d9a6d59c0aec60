#include "cnnviz/layer_lookup.h"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "cnnviz/error.h"

namespace cnnviz {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

int find_layer(const ModuleTree& tree, const std::string& name, const std::string& model_path) {
  const std::string wanted = name == "root" ? "" : name;
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
    if (tree.nodes[i].path == wanted) return static_cast<int>(i);
  }
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const auto& node : tree.nodes) {
    const std::size_t d = edit_distance(name, node.path);
    if (!node.path.empty() && d < best_distance) {
      best_distance = d;
      best = node.path;
    }
  }
  std::string message = "'" + model_path + "' has no layer '" + name + "'";
  if (!best.empty() && best_distance <= std::max<std::size_t>(2, name.size() / 3)) message += "; did you mean '" + best + "'?";
  message += " ('cnnviz layers " + model_path + "' lists them)";
  throw Error(ErrorKind::kModel, message);
}

std::vector<int> parse_index_ranges(std::string_view text, int limit, const std::string& option) {
  auto fail = [&](const std::string& why) {
    return Error::usage(option + " '" + std::string(text) + "': " + why + "; valid indices are 0 to " +
                        std::to_string(limit - 1) + ", written like 0-15,20");
  };
  if (text.empty()) throw fail("empty list");
  auto parse_int = [&](std::string_view s) {
    int v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < 0) throw fail("'" + std::string(s) + "' is not an index");
    if (v >= limit) throw fail(std::to_string(v) + " is out of range");
    return v;
  };
  std::vector<int> out;
  std::unordered_set<int> seen;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, end - start);
    const std::size_t dash = item.find('-');
    const int first = parse_int(item.substr(0, dash));
    const int last = dash == std::string_view::npos ? first : parse_int(item.substr(dash + 1));
    if (last < first) throw fail("range " + std::string(item) + " runs backwards");
    for (int i = first; i <= last; ++i) {
      if (seen.insert(i).second) out.push_back(i);
    }
    start = end + 1;
  }
  return out;
}

}  // namespace cnnviz
