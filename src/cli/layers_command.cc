#include "layers_command.h"

#include "cnnviz/input_spec.h"
#include "cnnviz/json_text.h"
#include "cnnviz/layer_list.h"
#include "cnnviz/model.h"

namespace cnnviz::cli {

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
  const LayerList list = list_layers(model, inputs, limit);
  for (const auto& note : list.notes) print_note(note);
  if (o.format == "json") {
    write_stdout(json_text(layers_json(model.tree(), list, o.model), 2) + "\n");
  } else {
    write_stdout(layers_text(model.tree(), list));
  }
}

}  // namespace cnnviz::cli
