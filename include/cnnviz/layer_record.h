#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cnnviz/capture.h"
#include "cnnviz/module_tree.h"

namespace cnnviz {

/// One row of the summary: one call of one module (or a container that never ran itself but whose
/// children did), with torchinfo's per-row figures. Plain data: renderers decide how it looks.
struct LayerRecord {
  std::string path;        ///< "layer1.0.conv1"; "" for the root
  std::string var_name;    ///< last path component; the class name for the root
  std::string class_name;  ///< "Conv2d"
  int node = -1;           ///< index into ModuleTree::nodes
  int depth = 0;           ///< module-tree depth, 0 for the root
  int depth_index = 0;     ///< 1-based running count of rows at this depth, over the whole table
  int call_index = 0;      ///< 0 for the module's first call
  bool executed = false;   ///< the call ran and returned
  bool is_leaf = true;     ///< the module has no child modules
  bool is_recursive = false;  ///< an earlier row already showed this module (2nd+ call)
  std::vector<int64_t> input_shape;
  std::vector<int64_t> output_shape;
  int64_t output_bytes = 0;       ///< element size x elements of output_shape
  int64_t num_params = 0;         ///< parameters in the module's subtree
  int64_t trainable_params = 0;
  int64_t param_bytes = 0;
  int64_t leftover_params = 0;    ///< params not shown by any descendant row (torchinfo's leftover)
  int64_t leftover_trainable_params = 0;
  std::optional<KernelSize> kernel_size;
  /// torchinfo's mult-adds for this call: from parameter counts and the output shape (see
  /// docs/cli.md). Meaningful for leaves; for containers only its sign is used, as torchinfo does.
  int64_t mult_adds = 0;
  /// Σ mult_adds of the leaf rows below this one: what a container shows at the depth limit.
  int64_t leaf_mult_adds = 0;
  /// fvcore's FLOPs of every ATen operator inside this call, nested calls included; -1 when not
  /// counted (no --flops, or the row did not run itself).
  int64_t flops = -1;
  std::size_t subtree_end = 0;    ///< rows [index + 1, subtree_end) are this row's descendants
};

/// torchinfo 1.8's mult-adds of one call of `node` producing `output_shape`.
int64_t torchinfo_mult_adds(const ModuleNode& node, const std::vector<int64_t>& output_shape);

/// Builds the summary rows from a forward's calls, exactly as torchinfo 1.8.0 orders, numbers and
/// fills them: rows in call order, containers that never ran inserted above their children
/// (add_missing_container_layers), per-depth running indices, leftover params. `with_flops`: the
/// calls counted FLOPs (CaptureOptions::count_flops), copied to the rows that ran.
std::vector<LayerRecord> build_layer_records(const ModuleTree& tree, const std::vector<ModuleCall>& calls, bool with_flops = false);

/// Rows for a model summarised without an input: every module once, in module-tree order, no shapes.
std::vector<LayerRecord> build_layer_records_without_input(const ModuleTree& tree);

}  // namespace cnnviz
