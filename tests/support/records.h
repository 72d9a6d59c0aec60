#pragma once

// Hand-built module trees and calls, so records, stats and rendering are tested without LibTorch.

#include <string>
#include <vector>

#include "cnnviz/capture.h"
#include "cnnviz/module_tree.h"

namespace cnnviz::test {

/// Appends a node; `params` are counted as the module's own "weight"/"bias" when it is a leaf, and as
/// nested parameters ("0.weight") otherwise, as named_parameters() names them.
inline int add_node(ModuleTree& tree, const std::string& path, const std::string& class_name, int parent,
                    int64_t params = 0, bool leaf = true) {
  ModuleNode n;
  n.path = path;
  n.class_name = class_name;
  n.var_name = path.empty() ? class_name : path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
  n.parent = parent;
  n.depth = parent < 0 ? 0 : tree.nodes[static_cast<std::size_t>(parent)].depth + 1;
  n.is_leaf = leaf;
  n.num_params = params;
  n.trainable_params = params;
  n.param_bytes = 4 * params;
  (leaf ? n.weight_bias_params : n.other_weight_bias_params) = params;
  tree.nodes.push_back(n);
  const int index = static_cast<int>(tree.nodes.size()) - 1;
  for (int p = parent; p >= 0; p = tree.nodes[static_cast<std::size_t>(p)].parent) {
    auto& ancestor = tree.nodes[static_cast<std::size_t>(p)];
    ancestor.is_leaf = false;
    ancestor.num_params += params;
    ancestor.trainable_params += params;
    ancestor.param_bytes += 4 * params;
    ancestor.other_weight_bias_params += params;
  }
  tree.total_params += params;
  tree.trainable_params += params;
  tree.param_bytes += 4 * params;
  return index;
}

/// A finished call of `node` with the given output (float32).
inline ModuleCall call(int node, std::vector<int64_t> out, std::vector<int64_t> in = {}) {
  ModuleCall c;
  c.node = node;
  c.output_shape = std::move(out);
  c.input_shape = std::move(in);
  c.output_elem_bytes = 4;
  c.finished = true;
  return c;
}

}  // namespace cnnviz::test
