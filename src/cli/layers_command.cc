#include "layers_command.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cnnviz/capture.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/json_text.h"
#include "cnnviz/model.h"
#include "cnnviz/summary_text.h"

namespace cnnviz::cli {
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

CLI::App* add_layers_command(CLI::App& app, LayersOptions& o) {
  CLI::App* cmd = app.add_subcommand("layers", "List every layer of a model: path, class, params, conv settings, output shape");
  cmd->add_option("model", o.model, "TorchScript file (.pt)")->required();
  cmd->add_option("--input", o.inputs, "Input shape (e.g. 1,3,224,224) to add each layer's output shape; once per argument");
  cmd->add_option("--dtype", o.dtypes, "Input dtype: " + value_list(dtype_names()) + " (default float32)");
  cmd->add_option("--format", o.format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

void run_layers_command(const LayersOptions& o) {
  const std::vector<InputSpec> inputs = parse_input_specs(o.inputs, o.dtypes);
  const int64_t limit = memory_limit(o.common);
  Model model = load_model(o.model, apply_common_options(o.common));
  const ModuleTree& tree = model.tree();

  // Output shape of each module's first call, when an input is given.
  std::vector<std::vector<int64_t>> shapes(tree.nodes.size());
  std::vector<bool> ran(tree.nodes.size(), false);
  if (!inputs.empty()) {
    CaptureOptions capture;
    capture.inputs = inputs;
    capture.max_memory_bytes = limit;
    const CaptureResult result = capture_module_calls(model, capture);
    for (const auto& note : result.notes) print_note(note);
    for (const ModuleCall& call : result.calls) {
      const auto n = static_cast<std::size_t>(call.node);
      if (!ran[n]) shapes[n] = call.output_shape;
      ran[n] = true;
    }
  }

  if (o.format == "json") {
    auto layers = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
      const ModuleNode& n = tree.nodes[i];
      nlohmann::ordered_json l = {{"path", n.path}, {"class", n.class_name}, {"depth", n.depth}, {"params", n.num_params}};
      l["kernel_shape"] = n.kernel_size ? nlohmann::ordered_json(n.kernel_size->dims) : nlohmann::ordered_json(nullptr);
      if (n.conv) {
        l["stride"] = n.conv->stride;
        l["padding"] = n.conv->padding;
        l["dilation"] = n.conv->dilation;
        l["groups"] = n.conv->groups;
        l["transposed"] = n.conv->transposed;
      }
      if (!inputs.empty()) {
        l["ran"] = static_cast<bool>(ran[i]);
        l["output_shape"] = shapes[i];
      }
      layers.push_back(std::move(l));
    }
    write_stdout(json_text(nlohmann::ordered_json{{"schema", "cnnviz.layers"}, {"schema_version", 1}, {"model", o.model}, {"layers", layers}}, 2) +
                 "\n");
    return;
  }

  std::size_t path_width = 4, class_width = 5;
  for (const auto& n : tree.nodes) {
    path_width = std::max(path_width, n.path.empty() ? 6 : n.path.size());
    class_width = std::max(class_width, n.class_name.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:>12}  {:<8} {:<8} {:<8} {:<6}{}\n", "path", path_width, "class",
                                class_width, "params", "kernel", "stride", "padding", "groups",
                                inputs.empty() ? "" : "  output");
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
    const ModuleNode& n = tree.nodes[i];
    const std::string kernel = n.kernel_size ? ints(n.kernel_size->dims) : "-";
    std::string line = fmt::format("{:<{}}  {:<{}}  {:>12}  {:<8} {:<8} {:<8} {:<6}", n.path.empty() ? "(root)" : n.path,
                                   path_width, n.class_name, class_width, with_thousands(n.num_params), kernel,
                                   n.conv ? ints(n.conv->stride) : "-", n.conv ? ints(n.conv->padding) : "-",
                                   n.conv ? std::to_string(n.conv->groups) : "-");
    if (!inputs.empty()) line += "  " + (ran[i] ? shape_to_string(shapes[i]) : std::string("(did not run)"));
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  write_stdout(out);
}

}  // namespace cnnviz::cli
