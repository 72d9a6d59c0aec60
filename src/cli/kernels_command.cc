#include "kernels_command.h"

#include "cnnviz/error.h"
#include "cnnviz/kernel_grid.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "cnnviz/npy.h"

namespace cnnviz::cli {

CLI::App* add_kernels_command(CLI::App& app, KernelsOptions& o) {
  CLI::App* cmd = app.add_subcommand("kernels", "Draw a convolution layer's kernels as a PNG grid");
  cmd->add_option("model", o.model, "TorchScript file (.pt)")->required();
  cmd->add_option("--layer", o.layer, "Module path of a Conv1d/Conv2d/ConvTranspose2d, e.g. features.3")->required();
  cmd->add_option("-o,--output", o.output, "Output file (.png, or .npy with --format npy); - for stdout")->required();
  cmd->add_option("--filters", o.filters, "Output filters to draw, e.g. 0-15,20 (default: all)");
  cmd->add_option("--channels", o.channels, "Input channels to draw per filter, e.g. 0-7 (default: all)");
  cmd->add_option("--colormap", o.colormap, "Colormap: " + value_list(colormap_names()))->capture_default_str();
  cmd->add_option("--scale", o.scale, "Pixels per kernel element (default: about 24 pixels per kernel)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--cols", o.cols, "Tiles per row (default: one row per filter, or a square for one filter)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--pad", o.pad, "Pixels between tiles")->check(CLI::Range(0, 64))->capture_default_str();
  cmd->add_option("--normalize", o.scale_by,
                  "Colour scale, symmetric around zero: per kernel (as the seed looks) or one for the whole layer")
      ->check(CLI::IsMember({"kernel", "layer"}))
      ->capture_default_str();
  cmd->add_option("--format", o.format, "png, or npy for the raw weights")->check(CLI::IsMember({"png", "npy"}))->capture_default_str();
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

void run_kernels_command(const KernelsOptions& o) {
  KernelGridOptions grid;
  grid.colormap = parse_colormap(o.colormap);
  grid.grid.scale = o.scale;
  grid.grid.cols = o.cols;
  grid.grid.pad = o.pad;
  grid.scale_per_kernel = o.scale_by == "kernel";
  Model model = load_model(o.model, apply_common_options(o.common));
  const ModuleTree& tree = model.tree();
  const int node = find_layer(tree, o.layer, o.model);
  const ModuleNode& n = tree.nodes[static_cast<std::size_t>(node)];
  if (!n.conv) {
    std::string convs;
    int shown = 0;
    for (const auto& m : tree.nodes) {
      if (m.conv && shown++ < 8) convs += (convs.empty() ? "" : ", ") + m.path;
    }
    throw Error(ErrorKind::kModel, "layer '" + o.layer + "' of '" + o.model + "' is a " + n.class_name +
                                       ", not a convolution; kernels exist for convolutions such as " +
                                       (convs.empty() ? std::string("(none in this model)") : convs));
  }
  const FloatArray weight = module_parameter(model, node, "weight");
  if (o.format == "npy") {
    if (!o.filters.empty() || !o.channels.empty()) {
      throw Error::usage("--filters and --channels choose what is drawn; --format npy writes the whole weight");
    }
    write_output(o.output, encode_npy_float32(weight.shape, weight.values.data()));
    return;
  }
  const auto [filters, channels] = kernel_grid_extent(weight, n.conv->transposed);
  if (!o.filters.empty()) grid.filters = parse_index_ranges(o.filters, filters, "--filters");
  if (!o.channels.empty()) grid.channels = parse_index_ranges(o.channels, channels, "--channels");
  write_output(o.output, encode_png(render_kernel_grid(weight, n.conv->transposed, grid)));
}

}  // namespace cnnviz::cli
