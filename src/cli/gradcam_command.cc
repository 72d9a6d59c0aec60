#include "gradcam_command.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cnnviz/cam.h"
#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/labels.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "cnnviz/npy.h"
#include "cnnviz/output_file.h"
#include "cnnviz/overlay.h"
#include "cnnviz/preprocess.h"

namespace cnnviz::cli {

CLI::App* add_gradcam_command(CLI::App& app, GradcamOptions& o) {
  CLI::App* cmd = app.add_subcommand("gradcam", "Grad-CAM and friends: where a classifier looks, as a heatmap over the image");
  cmd->add_option("model", o.model, "TorchScript classifier (.pt) returning class scores [N, K]")->required();
  cmd->add_option("image", o.image, "PNG or JPEG image")->required();
  cmd->add_option("--class", o.target_class, "Class index to explain (default: the top-1 class)");
  cmd->add_option("--layer", o.layer, "Target layer path, or auto: the last layer with a spatial output")->capture_default_str();
  cmd->add_option("--method", o.method, "gradcam, gradcam++, xgradcam, layercam, hirescam or eigencam")->capture_default_str();
  cmd->add_option("-o,--output", o.output, "Overlay PNG (heatmap blended over the image); - for stdout");
  cmd->add_option("--heatmap", o.heatmap, "Also write the coloured map alone (PNG)");
  cmd->add_option("--raw", o.raw, "Also write the map as H x W float32 .npy in [0, 1]");
  cmd->add_option("--image-weight", o.image_weight, "Share of the image in the overlay")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--colormap", o.colormap, "jet (OpenCV's, as pytorch-grad-cam), gray, viridis, magma, inferno, mpl_jet, bwr")
      ->capture_default_str();
  cmd->add_option("--labels", o.labels, "Class names, one per line (ImageNet's are built in for 1000 classes)");
  cmd->add_option("--format", o.format, "text or json (predictions, layer, class and map statistics)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_image_options(*cmd, o.image_options);
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

void run_gradcam_command(const GradcamOptions& o) {
  CamRequest request;
  request.method = parse_cam_method(o.method);
  request.target_class = o.target_class;
  const Colormap colormap = parse_colormap(o.colormap);
  if (o.output.empty() && o.heatmap.empty() && o.raw.empty() && o.format != "json") {
    throw Error::usage("nothing to write: give -o overlay.png, --heatmap, --raw or --format json");
  }
  const DeviceKind device = apply_common_options(o.common);
  std::vector<std::string> labels = o.labels.empty() ? std::vector<std::string>{} : load_labels(o.labels);

  PreprocessOptions pre = preprocess_options(o.image_options);
  const Image image = load_image(o.image, image_limits(o.image_options));
  const Image seen = resize_for_model(image, pre);
  const FloatArray input = preprocess_image(image, pre);
  Model model = load_model(o.model, device);
  request.layer = o.layer == "auto" ? auto_cam_layer(model, input) : find_layer(model.tree(), o.layer, o.model);
  const CamResult cam = compute_cam(model, input, request);
  if (labels.empty() && cam.scores.size() == 1000) labels = imagenet_labels();

  const ModuleNode& layer = model.tree().nodes[static_cast<std::size_t>(request.layer)];
  const auto predictions = top_predictions(cam.scores, 5, labels);
  // In JSON mode the written paths go into the document instead of their own stdout lines.
  const bool json = o.format == "json";
  std::vector<std::string> written;
  auto save = [&](const std::string& path, const std::string& bytes) {
    if (path.empty()) return;
    json ? write_file_atomically(path, bytes) : write_output(path, bytes);
    written.push_back(path);
  };
  save(o.output, o.output.empty() ? "" : encode_png(overlay_heatmap(seen, cam.map, o.image_weight, colormap)));
  save(o.heatmap, o.heatmap.empty() ? "" : encode_png(heatmap_image(cam.map, colormap)));
  save(o.raw, o.raw.empty() ? "" : encode_npy_float32(cam.map.shape, cam.map.values.data()));

  if (json) {
    auto preds = nlohmann::ordered_json::array();
    for (const auto& p : predictions) {
      preds.push_back({{"class", p.index}, {"label", p.label}, {"score", p.score}, {"probability", p.probability}});
    }
    double sum = 0;
    for (float v : cam.map.values) sum += v;
    write_stdout(nlohmann::ordered_json{{"model", o.model},
                                        {"image", o.image},
                                        {"method", o.method},
                                        {"layer", layer.path},
                                        {"layer_class", layer.class_name},
                                        {"class", cam.target_class},
                                        {"predictions", preds},
                                        {"map", {{"shape", cam.map.shape},
                                                 {"layer_shape", cam.low_res.shape},
                                                 {"mean", sum / static_cast<double>(cam.map.values.size())}}},
                                        {"outputs", written}}
                     .dump(2) + "\n");
    return;
  }
  std::string text = fmt::format("layer {} ({}), class {}{}\n", layer.path, layer.class_name, cam.target_class,
                                 static_cast<std::size_t>(cam.target_class) < labels.size()
                                     ? " (" + labels[static_cast<std::size_t>(cam.target_class)] + ")"
                                     : std::string());
  for (const auto& p : predictions) {
    text += fmt::format("  {:>5}  {:6.2f}%  {:>10.4f}  {}\n", p.index, 100.0 * p.probability, p.score, p.label);
  }
  if (o.output != "-") write_stdout(text);
}

}  // namespace cnnviz::cli
