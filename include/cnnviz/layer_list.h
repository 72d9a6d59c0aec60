#pragma once

// `cnnviz layers`: every module of a model with its settings and, given inputs, the output shape of
// its first call; and the two ways it is printed.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnnviz/input_spec.h"
#include "cnnviz/model.h"

namespace cnnviz {

/// One module of the list, in ModuleTree order.
struct LayerRow {
  int node = -1;
  bool ran = false;                   ///< called in the forward (only with inputs)
  std::vector<int64_t> output_shape;  ///< its first call's output, torchinfo's rule
};

struct LayerList {
  std::vector<LayerRow> rows;  ///< one per ModuleTree node
  bool with_shapes = false;    ///< inputs were given and the model ran
  std::vector<std::string> notes;
};

/// The list; with `inputs`, one forward (behind the memory guard, as capture_module_calls) gives each
/// module's output shape. Errors as capture_module_calls.
LayerList list_layers(Model& model, const std::vector<InputSpec>& inputs, int64_t max_memory_bytes);

/// The text table: path, class, params, kernel, stride, padding, groups (and output with shapes).
std::string layers_text(const ModuleTree& tree, const LayerList& list);

/// The JSON document (schema cnnviz.layers, version 1; docs/cli.md).
nlohmann::ordered_json layers_json(const ModuleTree& tree, const LayerList& list, const std::string& model_path);

}  // namespace cnnviz
