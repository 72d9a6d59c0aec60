#include "saliency_command.h"

#include "cnnviz/attribution_report.h"
#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/image_run.h"
#include "cnnviz/json_text.h"
#include "cnnviz/labels.h"
#include "cnnviz/model.h"
#include "cnnviz/npy.h"
#include "cnnviz/output_file.h"
#include "cnnviz/overlay.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/saliency.h"

namespace cnnviz::cli {

CLI::App* add_saliency_command(CLI::App& app, SaliencyOptions& o) {
  CLI::App* cmd = app.add_subcommand("saliency", "Saliency maps: the pixels a class score is most sensitive to (gradients w.r.t. the image)");
  cmd->add_option("model", o.model, "Model (.pt TorchScript or .pt2 torch.export program): a classifier, or see --target")->required();
  cmd->add_option("image", o.image, "PNG or JPEG image")->required();
  add_target_options(*cmd, o.target);
  cmd->add_option("--method", o.method, "Method: " + value_list(saliency_method_names()) + " (vanilla is FlashTorch's Backprop, guided-flashtorch its guided backpropagation)")->capture_default_str();
  cmd->add_option("--reduce", o.reduce, "Channels to one map: " + value_list(saliency_reduce_names()) + " (abs-max: the max of |gradient|, Simonyan et al.; max: signed, FlashTorch's take_max)")
      ->capture_default_str();
  cmd->add_option("--scale", o.scale, "Map to [0, 1]: " + value_list(saliency_scale_names()) + " (standardize: FlashTorch's standardize_and_clip)")->capture_default_str();
  cmd->add_option("--samples", o.samples, "SmoothGrad: noisy copies of the image")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--noise", o.noise, "SmoothGrad: noise std as a share of the input's max - min")
      ->check(CLI::Range(0.0f, 10.0f))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "SmoothGrad: seed of the noise (torch.Generator().manual_seed)")->capture_default_str();
  cmd->add_option("--batch-size", o.batch_size, "SmoothGrad: noisy copies per forward")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("-o,--output", o.output, "Overlay PNG (the map blended over the image); - for stdout");
  cmd->add_option("--heatmap", o.heatmap, "Also write the coloured map alone (PNG)");
  cmd->add_option("--raw", o.raw, "Also write the map as H x W float32 .npy in [0, 1]");
  cmd->add_option("--gradient", o.gradient, "Also write the attribution before reducing, C x H x W float32 .npy");
  cmd->add_option("--image-weight", o.image_weight, "Share of the image in the overlay")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--colormap", o.colormap, "Colormap: " + value_list(colormap_names()) + " (viridis is FlashTorch's)")->capture_default_str();
  cmd->add_option("--labels", o.labels, "Class names, one per line (ImageNet's are built in for 1000 classes)");
  cmd->add_option("--format", o.format, "text or json (predictions, class, map statistics)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_image_options(*cmd, o.image_options);
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

void run_saliency_command(const SaliencyOptions& o) {
  SaliencyRequest request;
  request.target = target_of(o.target);
  request.method = parse_saliency_method(o.method);
  request.reduce = parse_saliency_reduce(o.reduce);
  request.scale = parse_saliency_scale(o.scale);
  request.samples = o.samples;
  request.noise = o.noise;
  request.seed = o.seed;
  request.batch_size = o.batch_size;
  const Colormap colormap = parse_colormap(o.colormap);
  if (o.output.empty() && o.heatmap.empty() && o.raw.empty() && o.gradient.empty() && o.format != "json") {
    throw Error::usage("nothing to write: give -o overlay.png, --heatmap, --raw, --gradient or --format json");
  }
  const int to_stdout = (o.output == "-") + (o.heatmap == "-") + (o.raw == "-") + (o.gradient == "-");
  if (to_stdout > 1 || (to_stdout == 1 && o.format == "json")) {
    throw Error::usage("only one of -o, --heatmap, --raw and --gradient can be '-', and not with --format json");
  }
  request.max_memory_bytes = memory_limit(o.common);
  const DeviceKind device = apply_common_options(o.common);
  std::vector<std::string> labels = o.labels.empty() ? std::vector<std::string>{} : load_labels(o.labels);

  // The image is read (and checked) before the model is loaded; preprocessing waits for the memory guard
  // (run_saliency_image), which counts the whole model's gradient (the root's) for the SmoothGrad batch.
  PreprocessOptions pre = preprocess_options(o.image_options);
  const Image image = load_image(o.image, image_limits(o.image_options));
  Model model = load_model(o.model, device);
  adapt_to_detector(model, o.model, image, o.image_options, o.target, pre, request.target);
  const ImageSaliency explained = run_saliency_image(model, image, pre, request);
  const Image& seen = explained.image.seen;
  const SaliencyResult& result = explained.saliency;
  for (const auto& note : explained.notes) print_note(note);
  if (labels.empty() && result.scores.size() == 1000) labels = imagenet_labels();

  // Render everything first, so that a failure writes nothing; in JSON mode the written paths go into
  // the document instead of their own stdout lines.
  const bool json = o.format == "json";
  std::vector<std::pair<std::string, std::string>> files;
  if (!o.output.empty()) files.emplace_back(o.output, encode_png(overlay_heatmap(seen, result.map, o.image_weight, colormap)));
  if (!o.heatmap.empty()) files.emplace_back(o.heatmap, encode_png(heatmap_image(result.map, colormap)));
  if (!o.raw.empty()) files.emplace_back(o.raw, encode_npy_float32(result.map.shape, result.map.values.data()));
  if (!o.gradient.empty()) files.emplace_back(o.gradient, encode_npy_float32(result.gradient.shape, result.gradient.values.data()));
  const std::vector<std::string> written = write_outputs(files, json);

  const SaliencyReport report{o.model, o.image, o.method, o.reduce, o.scale, result, written, labels};
  if (json) {
    write_stdout(json_text(saliency_json(report), 2) + "\n");
  } else if (to_stdout == 0) {
    write_stdout(saliency_text(report));
  }
}

}  // namespace cnnviz::cli
