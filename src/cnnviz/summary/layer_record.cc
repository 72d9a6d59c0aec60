#include "cnnviz/layer_record.h"

#include <map>
#include <unordered_map>
#include <unordered_set>

namespace cnnviz {
namespace {

int64_t product(std::vector<int64_t>::const_iterator first, std::vector<int64_t>::const_iterator last) {
  int64_t p = 1;
  for (; first != last; ++first) p *= *first;
  return p;
}

LayerRecord row_for_node(const ModuleTree& tree, int node_index) {
  const ModuleNode& node = tree.nodes[static_cast<std::size_t>(node_index)];
  LayerRecord r;
  r.path = node.path;
  r.var_name = node.var_name;
  r.class_name = node.class_name;
  r.node = node_index;
  r.depth = node.depth;
  r.is_leaf = node.is_leaf;
  r.num_params = node.num_params;
  r.trainable_params = node.trainable_params;
  r.param_bytes = node.param_bytes;
  r.kernel_size = node.kernel_size;
  return r;
}

// torchinfo's set_children_layers plus the per-row figures that depend on the rows below a row.
void number_and_total(std::vector<LayerRecord>& rows) {
  std::map<int, int> count_at_depth;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].depth_index = ++count_at_depth[rows[i].depth];
    std::size_t end = i + 1;
    while (end < rows.size() && rows[end].depth > rows[i].depth) ++end;
    rows[i].subtree_end = end;
  }
  // leftover = own subtree's params minus what the rows below show (leaves: their params; containers:
  // their own leftover), skipping (recursive) rows. Rows below are always later, so go backwards.
  for (std::size_t k = rows.size(); k-- > 0;) {
    LayerRecord& r = rows[k];
    int64_t shown = 0, shown_trainable = 0, leaf_macs = 0;
    for (std::size_t j = k + 1; j < r.subtree_end; ++j) {
      const LayerRecord& c = rows[j];
      if (c.is_leaf) leaf_macs += c.mult_adds;
      if (c.is_recursive) continue;
      shown += c.is_leaf ? c.num_params : c.leftover_params;
      shown_trainable += c.is_leaf ? c.trainable_params : c.leftover_trainable_params;
    }
    r.leftover_params = r.num_params - shown;
    r.leftover_trainable_params = r.trainable_params - shown_trainable;
    r.leaf_mult_adds = leaf_macs;
  }
}

}  // namespace

int64_t torchinfo_mult_adds(const ModuleNode& node, const std::vector<int64_t>& out) {
  if (out.empty()) return 0;
  int64_t macs = 0;
  if (node.weight_bias_params > 0) {
    // "Conv" anywhere in the class name (ConvTranspose2d included): N x output spatial size.
    if (node.class_name.find("Conv") != std::string::npos) {
      macs += node.weight_bias_params * out[0] * product(out.begin() + std::min<std::ptrdiff_t>(2, static_cast<std::ptrdiff_t>(out.size())), out.end());
    } else {
      macs += node.weight_bias_params * out[0];
    }
  }
  if (node.other_weight_bias_params > 0) {
    macs += node.other_weight_bias_params * product(out.begin(), out.begin() + std::min<std::ptrdiff_t>(2, static_cast<std::ptrdiff_t>(out.size())));
  }
  return macs;
}

std::vector<LayerRecord> build_layer_records(const ModuleTree& tree, const std::vector<ModuleCall>& calls, bool with_flops) {
  std::vector<LayerRecord> rows;
  rows.reserve(calls.size());
  std::unordered_set<int> seen;
  std::unordered_map<int, int> calls_of_node;
  for (const ModuleCall& call : calls) {
    LayerRecord r = row_for_node(tree, call.node);
    r.call_index = calls_of_node[call.node]++;
    r.is_recursive = !seen.insert(call.node).second;
    r.executed = call.finished;
    r.input_shape = call.input_shape;
    if (call.finished) {
      r.output_shape = call.output_shape;
      r.output_bytes = call.output_elem_bytes * product(call.output_shape.begin(), call.output_shape.end());
      r.mult_adds = torchinfo_mult_adds(tree.nodes[static_cast<std::size_t>(call.node)], call.output_shape);
      if (with_flops) r.flops = call.flops;
    }
    rows.push_back(std::move(r));
  }

  // add_missing_container_layers: a module whose children ran but which was not itself called (a
  // ModuleList iterated by its parent) gets a row above them. This follows torchinfo's loop exactly,
  // including re-visiting rows it has just inserted.
  std::vector<bool> inserted(rows.size(), false);
  std::unordered_set<int> layer_ids(seen);
  std::map<int, int> current;  // depth -> node of the innermost open row at that depth
  std::unordered_map<int, bool> fallback_recursive;
  for (std::size_t idx = 0; idx < rows.size(); ++idx) {
    const int node = rows[idx].node;
    const int depth = rows[idx].depth;
    std::map<int, int> ancestors;
    for (int p = tree.nodes[static_cast<std::size_t>(node)].parent; p >= 0 && tree.nodes[static_cast<std::size_t>(p)].depth > 0;
         p = tree.nodes[static_cast<std::size_t>(p)].parent) {
      ancestors[tree.nodes[static_cast<std::size_t>(p)].depth] = p;
    }
    std::size_t rel = 0;
    for (int d = 1; d < depth; ++d) {
      const int ancestor = ancestors[d];
      auto cur = current.find(d);
      const bool differs = cur == current.end() || cur->second != ancestor;
      // Python's summary_list[idx + rel - 1], which wraps to the last row at -1.
      const std::size_t prev = idx + rel == 0 ? rows.size() - 1 : idx + rel - 1;
      const bool prev_is_its_row = inserted[prev] && rows[prev].node == ancestor;
      if (!differs || prev_is_its_row) continue;
      LayerRecord c = row_for_node(tree, ancestor);
      bool& recursive = fallback_recursive[ancestor];  // torchinfo reuses one object per module
      recursive = recursive || layer_ids.count(ancestor) > 0;
      c.is_recursive = recursive;
      rows.insert(rows.begin() + static_cast<std::ptrdiff_t>(idx + rel), std::move(c));
      inserted.insert(inserted.begin() + static_cast<std::ptrdiff_t>(idx + rel), true);
      layer_ids.insert(ancestor);
      current[d] = ancestor;
      ++rel;
    }
    current[depth] = node;
    for (int d = depth + 1; current.erase(d) > 0; ++d) {
    }
  }

  number_and_total(rows);

  // A container inserted twice is one Python object in torchinfo: every copy shows the last copy's
  // depth index, recursion flag and subtree figures.
  std::unordered_map<int, std::size_t> last_copy;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (inserted[i]) last_copy[rows[i].node] = i;
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!inserted[i]) continue;
    const LayerRecord& last = rows[last_copy[rows[i].node]];
    rows[i].depth_index = last.depth_index;
    rows[i].is_recursive = fallback_recursive[rows[i].node];
    rows[i].leftover_params = last.leftover_params;
    rows[i].leftover_trainable_params = last.leftover_trainable_params;
    rows[i].leaf_mult_adds = last.leaf_mult_adds;
  }
  return rows;
}

std::vector<LayerRecord> build_layer_records_without_input(const ModuleTree& tree) {
  std::vector<LayerRecord> rows;
  std::unordered_set<int> seen;
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
    LayerRecord r = row_for_node(tree, static_cast<int>(i));
    r.is_recursive = !seen.insert(static_cast<int>(i)).second;
    rows.push_back(std::move(r));
  }
  number_and_total(rows);
  return rows;
}

}  // namespace cnnviz
