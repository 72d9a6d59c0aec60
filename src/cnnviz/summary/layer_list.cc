#include "cnnviz/layer_list.h"

#include <fmt/core.h>

#include <algorithm>

#include "cnnviz/capture.h"
#include "cnnviz/summary_text.h"

namespace cnnviz {
namespace {

std::string ints(const std::vector<int64_t>& v) {
  if (v.empty()) return "-";
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(v[i]);
  }
  return s;
}

}  // namespace

LayerList list_layers(Model& model, const std::vector<InputSpec>& inputs, int64_t max_memory_bytes) {
  const ModuleTree& tree = model.tree();
  LayerList list;
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) list.rows.push_back(LayerRow{static_cast<int>(i), false, {}});
  if (inputs.empty()) return list;
  CaptureOptions capture;
  capture.inputs = inputs;
  capture.max_memory_bytes = max_memory_bytes;
  const CaptureResult result = capture_module_calls(model, capture);
  list.with_shapes = true;
  list.notes = result.notes;
  for (const ModuleCall& call : result.calls) {
    LayerRow& row = list.rows.at(static_cast<std::size_t>(call.node));
    if (!row.ran) row.output_shape = call.output_shape;
    row.ran = true;
  }
  return list;
}

std::string layers_text(const ModuleTree& tree, const LayerList& list) {
  std::size_t path_width = 4, class_width = 5;
  for (const auto& n : tree.nodes) {
    path_width = std::max(path_width, n.path.empty() ? 6 : n.path.size());
    class_width = std::max(class_width, n.class_name.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:>12}  {:<8} {:<8} {:<8} {:<6}{}\n", "path", path_width, "class",
                                class_width, "params", "kernel", "stride", "padding", "groups",
                                list.with_shapes ? "  output" : "");
  for (const LayerRow& row : list.rows) {
    const ModuleNode& n = tree.nodes.at(static_cast<std::size_t>(row.node));
    const std::string kernel = n.kernel_size ? ints(n.kernel_size->dims) : "-";
    std::string line = fmt::format("{:<{}}  {:<{}}  {:>12}  {:<8} {:<8} {:<8} {:<6}", n.path.empty() ? "(root)" : n.path,
                                   path_width, n.class_name, class_width, with_thousands(n.num_params), kernel,
                                   n.conv ? ints(n.conv->stride) : "-", n.conv ? ints(n.conv->padding) : "-",
                                   n.conv ? std::to_string(n.conv->groups) : "-");
    if (list.with_shapes) line += "  " + (row.ran ? shape_to_string(row.output_shape) : std::string("(did not run)"));
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

nlohmann::ordered_json layers_json(const ModuleTree& tree, const LayerList& list, const std::string& model_path) {
  auto layers = nlohmann::ordered_json::array();
  for (const LayerRow& row : list.rows) {
    const ModuleNode& n = tree.nodes.at(static_cast<std::size_t>(row.node));
    nlohmann::ordered_json l = {{"path", n.path}, {"class", n.class_name}, {"depth", n.depth}, {"params", n.num_params}};
    l["kernel_shape"] = n.kernel_size ? nlohmann::ordered_json(n.kernel_size->dims) : nlohmann::ordered_json(nullptr);
    if (n.conv) {
      l["stride"] = n.conv->stride;
      l["padding"] = n.conv->padding;
      l["dilation"] = n.conv->dilation;
      l["groups"] = n.conv->groups;
      l["transposed"] = n.conv->transposed;
    }
    if (list.with_shapes) {
      l["ran"] = row.ran;
      l["output_shape"] = row.output_shape;
    }
    layers.push_back(std::move(l));
  }
  return {{"schema", "cnnviz.layers"}, {"schema_version", 1}, {"model", model_path}, {"layers", layers}};
}

}  // namespace cnnviz
