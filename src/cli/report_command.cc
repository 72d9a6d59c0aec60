#include "report_command.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cnnviz/attribution_report.h"
#include "cnnviz/cam.h"
#include "cnnviz/cam_metrics.h"
#include "cnnviz/error.h"
#include "cnnviz/feature_grid.h"
#include "cnnviz/html_report.h"
#include "cnnviz/image_run.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/kernel_grid.h"
#include "cnnviz/labels.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/name_table.h"
#include "cnnviz/overlay.h"
#include "cnnviz/predictions.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_json.h"
#include "cnnviz/summary_text.h"
#include "cnnviz/version.h"
#include "page_header.h"

namespace cnnviz::cli {

CLI::App* add_report_command(CLI::App& app, ReportOptions& o) {
  CLI::App* cmd = app.add_subcommand("report", "One self-contained HTML page of a model: summary tree, kernels, and per image the top-5, "
                                               "CAMs, saliency and feature maps");
  cmd->add_option("model", o.model, "Model (.pt TorchScript or .pt2 torch.export program)")->required();
  cmd->add_option("images", o.images, "PNG or JPEG images (none: the model alone)");
  cmd->add_option("-o,--output", o.output, "The HTML file (written atomically); - for stdout")->required();
  cmd->add_option("--layers", o.layers, "Comma list of module paths whose kernels and feature maps are drawn (default: every convolution)")
      ->delimiter(',');
  cmd->add_option("--methods", o.methods, "CAM methods of the gallery, comma list of " + value_list(cam_method_names()))
      ->delimiter(',')
      ->capture_default_str();
  auto* cls = add_target_options(*cmd, o.target);
  auto* top = cmd->add_option("--top-k", o.top_k, "Classes per method in the gallery (the K best of each image)")->check(CLI::Range(1, 100))->capture_default_str();
  top->excludes(cls);
  cmd->add_option("--layer", o.layer, "The CAMs' layer, or auto (as gradcam)")->capture_default_str();
  cmd->add_option("--reshape", o.reshape, "How that layer's output is read as a map (as gradcam: auto, none, vit, swin, fpn, HxW)")->capture_default_str();
  cmd->add_option("--saliency", o.saliency, "Saliency method: " + value_list(saliency_method_names()) + ", or none")->capture_default_str();
  cmd->add_option("--metrics", o.metrics, "Faithfulness of each map, as gradcam --metrics (change, drop, increase, road-most, road-least, road)")
      ->delimiter(',');
  cmd->add_option("--road-percentiles", o.road_percentiles, "As gradcam --road-percentiles")->delimiter(',');
  cmd->add_option("--seed", o.seed, "As gradcam --seed (randomcam, ROAD)")->capture_default_str();
  cmd->add_option("--channels", o.channels, "Feature-map channels drawn per layer (the first N)")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--max-filters", o.max_filters, "Kernels: filters drawn per layer, the first N (default: 64 for a first layer drawn in colour, 16 otherwise)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--max-channels", o.max_channels, "Kernels: input channels drawn per filter (the first N)")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--max-size", o.max_size, "Largest page in MB: pictures are left out (and listed) beyond it")
      ->check(CLI::Range(0.1, 100000.0))
      ->capture_default_str();
  cmd->add_flag("--flops", o.flops, "Also count FLOPs as fvcore does (a FLOPs column in the tree)");
  cmd->add_option("--labels", o.labels, "Class names, one per line (ImageNet's are built in for 1000 classes)");
  cmd->add_option("--box-threshold", o.box_threshold, "Detectors: the score from which detections are listed and outlined on the overlays")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  cmd->add_option("--colormap", o.colormap, "The CAMs' colormap: " + value_list(colormap_names()))->capture_default_str();
  cmd->add_option("--image-weight", o.image_weight, "Share of the image in the overlays")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
  add_image_options(*cmd, o.image_options);
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

namespace {

std::string first_of(int shown, int total, const char* what) {
  return shown >= total ? fmt::format("all {} {}", total, what) : fmt::format("{} 0-{} of {}", what, shown - 1, total);
}

// Kernel grids are flat colours, exact in PNG. Photographs, overlays and feature maps take the smaller of
// PNG and JPEG at quality 90 (JPEG for all but the smallest), which keeps a page of DenseNet-121 with
// five images under 10 MB.
ReportPicture png_picture(const Image& image, std::string alt) { return {encode_png(image), "image/png", image.width, image.height, std::move(alt)}; }
ReportPicture compact_picture(const Image& image, std::string alt) {
  ReportPicture p = png_picture(image, std::move(alt));
  std::string jpeg = encode_jpeg(image, 90);
  if (jpeg.size() < p.bytes.size()) p.bytes = std::move(jpeg), p.mime = "image/jpeg";
  return p;
}

// The torchinfo table's totals and size estimates: the lines after its rows, without its rules.
std::string totals_of(const std::string& table) {
  std::string out;
  int rules = 0;
  std::size_t start = 0;
  while (start < table.size()) {
    std::size_t end = table.find('\n', start);
    if (end == std::string::npos) end = table.size();
    const std::string line = table.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line[0] == '=') {
      if (++rules > 3 && !out.empty() && out.back() != '\n') out += "\n";
      if (rules > 3) out += "\n";
      continue;
    }
    if (rules >= 3) out += line + "\n";
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A note once per image (every method's run says the same about the layer).
void add_note(ReportImage& section, const std::string& note) {
  if (std::find(section.notes.begin(), section.notes.end(), note) == section.notes.end()) section.notes.push_back(note);
}

void check_output_directory(const std::string& output) {
  if (output == "-") return;
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(output).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    throw Error(ErrorKind::kOutput, "cannot write '" + output + "': directory '" + parent.string() + "' does not exist; create it first");
  }
  if (fs::is_directory(output, ec)) throw Error(ErrorKind::kOutput, "-o '" + output + "' is a directory; give a file name such as report.html");
}

}  // namespace

void run_report_command(const ReportOptions& o) {
  // Every option is checked before anything is loaded.
  check_output_directory(o.output);
  std::vector<CamMethod> methods;
  for (const auto& m : o.methods) methods.push_back(parse_cam_method(m));
  if (methods.empty()) throw Error::usage("--methods needs at least one method, e.g. gradcam");
  const bool saliency_on = o.saliency != "none";
  const SaliencyMethod saliency_method = saliency_on ? parse_saliency_method(o.saliency) : SaliencyMethod::kVanilla;
  const Target target = target_of(o.target);
  const bool by_rank = !o.target.target_class && o.target.target.empty();
  check_cam_metrics(o.metrics, target);
  const RoadOptions road{o.road_percentiles, o.seed};
  check_road_options(o.metrics, road);
  const Colormap colormap = parse_colormap(o.colormap);
  const Reshape reshape = parse_reshape(o.reshape);
  const int64_t limit = memory_limit(o.common);
  const DeviceKind device = apply_common_options(o.common);
  std::vector<std::string> labels = o.labels.empty() ? std::vector<std::string>{} : load_labels(o.labels);
  const PreprocessOptions base_pre = preprocess_options(o.image_options);
  std::vector<Image> images;
  for (const auto& path : o.images) images.push_back(load_image(path, image_limits(o.image_options)));

  Model model = load_model(o.model, device);
  const ModuleTree& tree = model.tree();
  const int cam_layer = o.layer == "auto" ? -1 : find_layer(tree, o.layer, o.model);

  // The summary at the images' input shape (--input, else the preprocessing's), or a .pt2's own.
  SummaryRequest sreq;
  sreq.model_path = o.model;
  sreq.max_memory_bytes = limit;
  sreq.compute_sha256 = true;
  sreq.count_flops = o.flops;
  if (!o.image_options.input.empty()) {
    sreq.inputs = parse_input_specs({o.image_options.input}, {});
  } else if (!images.empty() && !model.takes_image_list() && model.file().example_inputs.empty()) {
    sreq.inputs = parse_input_specs({fmt::format("1,{},{},{}", base_pre.channels, base_pre.height, base_pre.width)}, {});
  }
  const Summary summary = summarize_loaded_model(model, sreq);
  for (const auto& note : summary.context.notes) print_note(note);

  HtmlReport report;
  report.records = summary.records;
  report.stats = summary.stats;
  report.has_shapes = !summary.context.inputs.empty();
  report.has_flops = o.flops && summary.stats.total_flops >= 0;
  TextOptions text;
  if (report.has_shapes) text.columns = {Column::kOutputSize, Column::kNumParams, Column::kMultAdds};
  else text.columns = {Column::kNumParams};
  report.totals_text = totals_of(render_summary_text(summary.records, summary.stats, text));
  ReportHeader& h = report.header;
  h.model_path = o.model;
  h.model_sha256 = summary.context.model_sha256;
  h.model_bytes = summary.context.model_file_bytes;
  h.cnnviz_version = cnnviz_version();
  h.libtorch_version = libtorch_version();
  h.device = summary.context.device;
  for (const auto& in : summary.context.inputs) h.input += (h.input.empty() ? "" : "; ") + shape_to_string(in.shape);
  h.command_line = shell_command(o.argv);
  h.created = created_time();

  // The layers drawn: --layers, else every convolution.
  std::vector<int> layers;
  if (!o.layers.empty()) {
    for (const auto& name : o.layers) layers.push_back(find_layer(tree, name, o.model));
  } else {
    for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
      if (tree.nodes[i].conv) layers.push_back(static_cast<int>(i));
    }
  }
  auto node_title = [&](int node) {
    const ModuleNode& n = tree.nodes[static_cast<std::size_t>(node)];
    return n.path + " (" + n.class_name + ")";
  };

  nlohmann::ordered_json kernels_json = nlohmann::ordered_json::array();
  for (int node : layers) {
    const ModuleNode& n = tree.nodes[static_cast<std::size_t>(node)];
    if (!n.conv) continue;
    const FloatArray weight = module_parameter(model, node, "weight");
    const auto [filters, channels] = kernel_grid_extent(weight, n.conv->transposed);
    KernelGridOptions k;
    const bool colour = channels == 3 && k.color_first_layer;
    const int shown_filters = std::min(filters, o.max_filters > 0 ? o.max_filters : colour ? 64 : 16);
    const int shown_channels = std::min(channels, o.max_channels);
    for (int f = 0; f < shown_filters; ++f) k.filters.push_back(f);
    if (!colour) {
      for (int c = 0; c < shown_channels; ++c) k.channels.push_back(c);
      // One input channel: a square of filters rather than a column of them (U-Net's first layer).
      if (channels == 1) k.grid.cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(shown_filters))));
    }
    const std::string shown = colour ? first_of(shown_filters, filters, "filters") + " in colour"
                                     : first_of(shown_filters, filters, "filters") + ", " + first_of(shown_channels, channels, "channels");
    report.kernels.push_back({node_title(node), "weight " + shape_to_string(weight.shape) + ": " + shown,
                              png_picture(render_kernel_grid(weight, n.conv->transposed, k), "kernels of " + n.path)});
    kernels_json.push_back({{"layer", n.path}, {"class", n.class_name}, {"weight_shape", weight.shape}, {"shown", shown}});
  }

  nlohmann::ordered_json images_json = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string& path = o.images[i];
    const Image& image = images[i];
    PreprocessOptions pre = base_pre;
    CamRequest request;
    request.target = target;
    request.reshape = reshape;
    request.seed = o.seed;
    request.max_memory_bytes = limit;
    request.top_k = by_rank ? o.top_k : 0;
    adapt_to_detector(model, o.model, image, o.image_options, o.target, pre, request.target);
    if (request.target.kind == TargetKind::kBox) request.top_k = 0;
    request.layer = cam_layer;

    ReportImage section;
    section.path = path;
    nlohmann::ordered_json image_json = {{"image", path}};
    nlohmann::ordered_json cams_json = nlohmann::ordered_json::array();
    for (std::size_t m = 0; m < methods.size(); ++m) {
      request.method = methods[m];
      const ImageCams explained = run_cam_image(model, image, pre, request);
      for (const auto& note : explained.notes) add_note(section, note);
      const std::vector<CamResult>& cams = explained.cams;
      if (labels.empty() && cams.front().scores.size() == 1000) labels = imagenet_labels();
      if (m == 0) {
        section.seen = compact_picture(explained.image.seen, "the image " + path + " as the model saw it");
        const std::vector<float>& scores = cams.front().scores;
        if (scores.size() > 1) section.predictions = top_predictions(scores, std::min<int>(5, static_cast<int>(scores.size())), labels);
        section.cam_layer = node_title(explained.layer);
        for (const Detection& d : cams.front().detections) {
          if (d.score < o.box_threshold) continue;
          section.detections.push_back(fmt::format("{} ({:.3f}): box {:.1f}, {:.1f}, {:.1f}, {:.1f}", class_text(d.label, labels), d.score,
                                                   d.box[0], d.box[1], d.box[2], d.box[3]));
        }
        for (std::size_t r = 0; r < cams.size(); ++r) {
          section.cam_columns.push_back(request.top_k > 0 ? fmt::format("top-{}: {}", r + 1, class_text(cams[r].target_class, labels))
                                                          : cams[r].target);
        }
      }
      section.cam_methods.push_back(o.methods[m]);
      CamImageReport cam_report{o.model, path, o.methods[m], tree.nodes[static_cast<std::size_t>(explained.layer)], cams, {}, labels, o.metrics, {},
                                o.box_threshold};
      if (!o.metrics.empty()) cam_report.metrics = cam_confidence(model, explained.image.input, cams, request, o.metrics, road);
      for (std::size_t r = 0; r < cams.size(); ++r) {
        const CamResult& cam = cams[r];
        ReportCam cell;
        cell.target = cam.target;
        cell.class_text = cam.target.rfind("class:", 0) == 0 ? class_text(cam.target_class, labels) : cam.target;
        cell.target_score = cam.target_score;
        if (!o.metrics.empty()) cell.metrics = cam_metrics_text(cam_report.metrics[r], o.metrics);
        Image overlay = overlay_heatmap(explained.image.seen, cam.map, o.image_weight, colormap);
        if (request.target.kind == TargetKind::kBox) draw_detections(overlay, cam.detections, o.box_threshold);
        cell.overlay = compact_picture(overlay, o.methods[m] + " map of " + cell.class_text + " over " + path);
        section.cams.push_back(std::move(cell));
      }
      cams_json.push_back(cam_image_json(cam_report));
      if (m == 0) image_json["predictions"] = predictions_json(section.predictions);
    }
    image_json["cams"] = cams_json;

    if (saliency_on) {
      SaliencyRequest sal;
      sal.method = saliency_method;
      sal.target = request.target;
      sal.max_memory_bytes = limit;
      const ImageSaliency explained = run_saliency_image(model, image, pre, sal);
      for (const auto& note : explained.notes) add_note(section, note);
      const SaliencyResult& result = explained.saliency;
      const std::string what = result.target.rfind("class:", 0) == 0 ? class_text(result.target_class, labels) : result.target;
      section.saliency = ReportFigure{o.saliency + " saliency", "of " + what,
                                      compact_picture(heatmap_image(result.map, Colormap::kViridis), o.saliency + " saliency of " + what + " for " + path)};
      image_json["saliency"] = saliency_json(SaliencyReport{o.model, path, o.saliency, "abs-max", "minmax", result, {}, labels});
    }

    nlohmann::ordered_json features_json = nlohmann::ordered_json::array();
    if (!layers.empty()) {
      const ImageFeatures features = run_feature_maps(model, image, pre, layers, limit);
      for (int node : layers) {
        const std::string& layer_path = tree.nodes[static_cast<std::size_t>(node)].path;
        auto it = features.outputs.find(node);
        if (it == features.outputs.end()) {
          report.omitted.push_back("feature maps of " + layer_path + " for " + path + ": the layer did not run (or returned no tensor)");
          continue;
        }
        const FloatArray& activation = it->second;
        int channels = 0;
        try {
          channels = feature_channels(activation);
        } catch (const Error&) {
          report.omitted.push_back("feature maps of " + layer_path + " for " + path + ": its output " + shape_to_string(activation.shape) +
                                   " is not a feature map");
          continue;
        }
        FeatureGridOptions g;
        const int shown = std::min(channels, o.channels);
        for (int c = 0; c < shown; ++c) g.channels.push_back(c);
        section.features.push_back({node_title(node), shape_to_string(activation.shape) + ": " + first_of(shown, channels, "channels"),
                                    compact_picture(render_feature_grid(activation, g), "feature maps of " + layer_path + " for " + path)});
        features_json.push_back({{"layer", layer_path}, {"shape", activation.shape}, {"channels_shown", shown}});
      }
    }
    image_json["feature_maps"] = features_json;
    images_json.push_back(image_json);
    report.images.push_back(std::move(section));
  }

  report.record = {{"schema", "cnnviz.report"},
                   {"schema_version", 1},
                   {"cnnviz_version", h.cnnviz_version},
                   {"libtorch_version", h.libtorch_version},
                   {"command", o.argv},
                   {"created", h.created},
                   {"summary", summary_to_json(summary.records, summary.stats, summary.context)},
                   {"kernels", kernels_json},
                   {"images", images_json}};
  const auto max_bytes = static_cast<int64_t>(o.max_size * 1e6);
  fit_html_report(report, max_bytes);
  for (const auto& line : report.omitted) print_note("left out: " + line);
  write_output(o.output, render_html_report(report));
}

}  // namespace cnnviz::cli
