#include "maximize_command.h"

#include "cnnviz/activation_max.h"
#include "cnnviz/attribution_report.h"
#include "cnnviz/error.h"
#include "cnnviz/grid.h"
#include "cnnviz/image.h"
#include "cnnviz/json_text.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "cnnviz/npy.h"
#include "cnnviz/output_file.h"

namespace cnnviz::cli {

CLI::App* add_maximize_command(CLI::App& app, MaximizeOptions& o) {
  CLI::App* cmd = app.add_subcommand("maximize", "Activation maximisation: images that excite chosen filters, by gradient ascent (FlashTorch's GradientAscent)");
  cmd->add_option("model", o.model, "TorchScript file (.pt)")->required();
  cmd->add_option("--layer", o.layer, "Module path whose output channels to maximise, e.g. features.24")->required();
  cmd->add_option("--filters", o.filters, "Output channels, e.g. 45,271,363,489 or 0-15")->capture_default_str();
  cmd->add_option("-o,--output", o.output, "PNG grid, one tile per filter, as FlashTorch shows them; - for stdout");
  cmd->add_option("--raw", o.raw, "Also write the optimised inputs as F x C x H x W float32 .npy");
  cmd->add_option("--steps", o.steps, "Gradient-ascent steps (FlashTorch's num_iter)")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--lr", o.lr, "Step size (FlashTorch's lr)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the start noise (torch.Generator().manual_seed)")->capture_default_str();
  ImageOptions& i = o.image_options;
  cmd->add_option("--input", i.input, "Input shape 1,C,H,W with C = 1 or 3 (default 1,3,224,224)");
  cmd->add_option("--mean", i.mean, "Per-channel mean of the start's normalisation (default ImageNet's)")->delimiter(',');
  cmd->add_option("--std", i.std, "Per-channel std of the start's normalisation (default ImageNet's)")->delimiter(',');
  cmd->add_flag("--no-normalize", i.no_normalize, "Start from pixel values in [0, 1] without mean/std");
  cmd->add_option("--cols", o.cols, "Tiles per row (default: a square)")->check(CLI::Range(1, 100000));
  cmd->add_option("--pad", o.pad, "Pixels between tiles")->check(CLI::Range(0, 64))->capture_default_str();
  cmd->add_option("--scale", o.scale, "Pixels per input pixel (nearest upsampling)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--format", o.format, "text or json (each filter's mean activation at the first and last step)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

namespace {

// A [C, H, W] picture in [0, 1] as an 8-bit image, np.uint8(255 * x) (truncating).
Image to_image(const FloatArray& picture) {
  const int c = static_cast<int>(picture.shape.at(0)), h = static_cast<int>(picture.shape.at(1)), w = static_cast<int>(picture.shape.at(2));
  Image image{w, h, c, std::vector<uint8_t>(static_cast<std::size_t>(w) * h * c)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < c; ++k) {
        const float v = picture.values[(static_cast<std::size_t>(k) * h + y) * w + x];
        image.pixels[(static_cast<std::size_t>(y) * w + x) * c + k] = static_cast<uint8_t>(255.0f * std::clamp(v, 0.0f, 1.0f));
      }
    }
  }
  return image;
}

}  // namespace

void run_maximize_command(const MaximizeOptions& o) {
  if (o.output.empty() && o.raw.empty() && o.format != "json") throw Error::usage("nothing to write: give -o grid.png, --raw or --format json");
  if (o.output == "-" && (o.raw == "-" || o.format == "json")) throw Error::usage("only one of -o and --raw can be '-', and not with --format json");
  const PreprocessOptions pre = preprocess_options(o.image_options);
  ActivationMaxRequest request;
  request.input_shape = {1, pre.channels, pre.height, pre.width};
  request.normalize = pre.normalize;
  request.mean = pre.mean;
  request.std = pre.std;
  request.steps = o.steps;
  request.lr = o.lr;
  request.seed = o.seed;
  for (int f : parse_index_ranges(o.filters, 1 << 20, "--filters")) request.filters.push_back(f);
  request.max_memory_bytes = memory_limit(o.common);
  const DeviceKind device = apply_common_options(o.common);
  Model model = load_model(o.model, device);
  request.layer = find_layer(model.tree(), o.layer, o.model);
  const ActivationMaxResult result = maximize_activations(model, request);
  for (const auto& note : result.notes) print_note(note);

  std::vector<std::pair<std::string, std::string>> files;
  if (!o.output.empty()) {
    std::vector<Image> tiles;
    for (const FloatArray& p : result.pictures) tiles.push_back(to_image(p));
    GridOptions grid;
    grid.cols = o.cols;
    grid.pad = o.pad;
    grid.scale = o.scale;
    files.emplace_back(o.output, encode_png(make_grid(tiles, grid)));
  }
  if (!o.raw.empty()) {
    std::vector<float> values;
    for (const FloatArray& x : result.inputs) values.insert(values.end(), x.values.begin(), x.values.end());
    std::vector<int64_t> shape = result.inputs.front().shape;
    shape.insert(shape.begin(), static_cast<int64_t>(result.inputs.size()));
    files.emplace_back(o.raw, encode_npy_float32(shape, values.data()));
  }
  const bool json = o.format == "json";
  const std::vector<std::string> written = write_outputs(files, json);
  const MaximizeReport report{o.model, model.tree().nodes[static_cast<std::size_t>(request.layer)], o.steps, o.lr, o.seed,
                              request.filters, result, written};
  if (json) {
    write_stdout(json_text(maximize_json(report), 2) + "\n");
  } else if (o.output != "-" && o.raw != "-") {
    write_stdout(maximize_text(report));
  }
}

}  // namespace cnnviz::cli
