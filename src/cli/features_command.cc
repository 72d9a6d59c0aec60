#include "features_command.h"

#include <sys/stat.h>

#include "cnnviz/error.h"
#include "cnnviz/feature_grid.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "cnnviz/image_run.h"
#include "cnnviz/npy.h"

namespace cnnviz::cli {

CLI::App* add_features_command(CLI::App& app, FeaturesOptions& o) {
  CLI::App* cmd = app.add_subcommand("features", "Draw a layer's feature maps for an image as a PNG grid");
  cmd->add_option("model", o.model, "TorchScript file (.pt)")->required();
  cmd->add_option("image", o.image, "PNG or JPEG image")->required();
  auto* layer = cmd->add_option("--layer", o.layer, "Module path, e.g. features.0");
  auto* output = cmd->add_option("-o,--output", o.output, "Output file (.png, or .npy with --format npy); - for stdout");
  auto* all = cmd->add_option("--all-layers", o.all_layers, "Directory: one <layer>.png per convolution layer, one forward pass");
  layer->needs(output);
  output->needs(layer);
  all->excludes(layer);
  cmd->add_option("--channels", o.channels, "Channels to draw, e.g. 0-15,20 (default: the first 16)");
  cmd->add_option("--top", o.top, "Draw the K channels with the highest mean activation instead")->check(CLI::Range(1, 100000));
  cmd->add_option("--colormap", o.colormap, "Colormap: " + value_list(colormap_names()))->capture_default_str();
  cmd->add_option("--cols", o.cols, "Tiles per row (default: a square)")->check(CLI::Range(1, 100000));
  cmd->add_option("--pad", o.pad, "Pixels between tiles")->check(CLI::Range(0, 64))->capture_default_str();
  cmd->add_option("--scale", o.scale, "Pixels per activation (nearest upsampling)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--format", o.format, "png, or npy for the raw activation [1, C, H, W]")
      ->check(CLI::IsMember({"png", "npy"}))
      ->capture_default_str();
  add_image_options(*cmd, o.image_options);
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

void run_features_command(const FeaturesOptions& o) {
  if (o.layer.empty() && o.all_layers.empty()) throw Error::usage("give --layer NAME -o FILE, or --all-layers DIR");
  if (!o.channels.empty() && o.top) throw Error::usage("--channels and --top exclude each other");
  FeatureGridOptions grid;
  grid.colormap = parse_colormap(o.colormap);
  grid.top = o.top;
  grid.grid.cols = o.cols;
  grid.grid.pad = o.pad;
  grid.grid.scale = o.scale;
  if (!o.all_layers.empty()) {
    struct stat st {};
    if (::stat(o.all_layers.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw Error(ErrorKind::kOutput, "--all-layers '" + o.all_layers + "' is not a directory; create it first");
    }
  }
  const int64_t limit = memory_limit(o.common);
  const DeviceKind device = apply_common_options(o.common);
  // The image is read (and checked) before the model is loaded; preprocessing waits for the memory guard.
  const PreprocessOptions pre = preprocess_options(o.image_options);
  const Image image = load_image(o.image, image_limits(o.image_options));
  Model model = load_model(o.model, device);
  const ModuleTree& tree = model.tree();
  std::vector<int> layers;
  if (!o.layer.empty()) {
    layers = {find_layer(tree, o.layer, o.model)};
  } else {
    for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
      if (tree.nodes[i].conv) layers.push_back(static_cast<int>(i));
    }
    if (layers.empty()) throw Error(ErrorKind::kModel, "'" + o.model + "' has no convolution layers");
  }
  const ImageFeatures result = run_feature_maps(model, image, pre, layers, limit);
  for (const auto& note : result.notes) print_note(note);
  // Render everything first, so a bad --channels for some layer writes nothing at all.
  std::vector<std::pair<std::string, std::string>> files;
  for (int node : layers) {
    const std::string& path = tree.nodes[static_cast<std::size_t>(node)].path;
    auto it = result.outputs.find(node);
    if (it == result.outputs.end()) {
      if (!o.layer.empty()) {
        throw Error(ErrorKind::kModel, "layer '" + path + "' of '" + o.model +
                                           "' did not run for this input (or returned no tensor); 'cnnviz layers " + o.model +
                                           " --input ...' shows which layers run");
      }
      continue;
    }
    FeatureGridOptions g = grid;
    if (!o.channels.empty()) {
      g.channels = parse_index_ranges(o.channels, feature_channels(it->second), "--channels");
    }
    const std::string file = o.layer.empty() ? o.all_layers + "/" + path + (o.format == "npy" ? ".npy" : ".png") : o.output;
    if (o.format == "npy") {
      files.emplace_back(file, encode_npy_float32(it->second.shape, it->second.values.data()));
    } else {
      files.emplace_back(file, encode_png(render_feature_grid(it->second, g)));
    }
  }
  for (const auto& [file, bytes] : files) write_output(file, bytes);
}

}  // namespace cnnviz::cli
