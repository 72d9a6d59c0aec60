#include "model/module_aliases.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace cnnviz {

std::vector<int> alias_targets(const ModuleTree& tree, const std::vector<std::vector<const void*>>& signatures) {
  std::vector<int> target(tree.nodes.size());
  std::map<std::pair<std::string, std::vector<const void*>>, std::vector<int>> groups;
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
    target[i] = static_cast<int>(i);
    if (i >= signatures.size() || signatures[i].empty()) continue;
    std::vector<const void*> held = signatures[i];  // the same tensors, in whatever order the file lists them
    std::sort(held.begin(), held.end());
    groups[{tree.nodes[i].class_name, held}].push_back(static_cast<int>(i));
  }
  const auto nested = [&](int a, int b) {
    const std::string& pa = tree.nodes[static_cast<std::size_t>(a)].path;
    const std::string& pb = tree.nodes[static_cast<std::size_t>(b)].path;
    const auto inside = [](const std::string& inner, const std::string& outer) {
      return outer.empty() || (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 && inner[outer.size()] == '.');
    };
    return inside(pa, pb) || inside(pb, pa);
  };
  for (const auto& group : groups) {
    const std::vector<int>& members = group.second;
    for (int index : members) {
      int last = index;
      for (int other : members) {
        if (other > last && !nested(index, other)) last = other;
      }
      target[static_cast<std::size_t>(index)] = last;
    }
  }
  return target;
}

}  // namespace cnnviz
