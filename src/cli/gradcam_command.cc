#include "gradcam_command.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cnnviz/cam.h"
#include "cnnviz/cam_batch.h"
#include "cnnviz/cam_metrics.h"
#include "cnnviz/cam_report.h"
#include "cnnviz/attribution_report.h"
#include "cnnviz/batch_source.h"
#include "cnnviz/error.h"
#include "cnnviz/json_text.h"
#include "cnnviz/image.h"
#include "cnnviz/image_run.h"
#include "cnnviz/labels.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "cnnviz/npy.h"
#include "cnnviz/output_file.h"
#include "cnnviz/name_table.h"
#include "cnnviz/overlay.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/html_report.h"
#include "cnnviz/predictions.h"
#include "cnnviz/sha256.h"
#include "cnnviz/version.h"
#include "page_header.h"

namespace cnnviz::cli {

CLI::App* add_gradcam_command(CLI::App& app, GradcamOptions& o) {
  CLI::App* cmd = app.add_subcommand("gradcam", "Grad-CAM and friends: where a classifier looks, as a heatmap over the image");
  cmd->add_option("model", o.model, "Model (.pt TorchScript or .pt2 torch.export program): a classifier, or see --target")->required();
  cmd->add_option("image", o.image, "PNG or JPEG image")->required();
  auto* cls = add_target_options(*cmd, o.target);
  cmd->add_option("--top-k", o.top_k, "Explain the K best classes instead: one map each, outputs named <stem>.top1.png, <stem>.top2.png, ...")
      ->check(CLI::Range(1, 1000))
      ->excludes(cls);
  cmd->add_option("--layer", o.layer, "Target layer path, or auto: the last layer with a spatial output (ViTs: the first norm of the last block)")->capture_default_str();
  cmd->add_option("--reshape", o.reshape,
                  "How the layer's output is read as a map: auto, none (N x C x H x W), vit ([N, 1 + h*w, D] tokens), swin ([N, H, W, C]), "
                  "fpn (a detector's dict of FPN maps) or HxW (the last H*W tokens)")
      ->capture_default_str();
  cmd->add_option("--method", o.method, "CAM method: " + value_list(cam_method_names()))->capture_default_str();
  cmd->add_flag("--eigen-smooth", o.eigen_smooth, "pytorch-grad-cam's eigen_smooth: the weighted activations' first principal component instead of their sum");
  cmd->add_flag("--aug-smooth", o.aug_smooth, "pytorch-grad-cam's aug_smooth: the mean map of 6 flipped and scaled copies of the image");
  cmd->add_option("--seed", o.seed,
                  "randomcam: numpy's seed of the random weights (np.random.seed); ROAD metrics: torch's seed of the imputation noise, "
                  "set before each map's each metric (torch.manual_seed)")
      ->capture_default_str();
  cmd->add_option("--finer-alpha", o.finer_alpha, "finercam: how strongly the compared classes' scores are subtracted (alpha)")->capture_default_str();
  cmd->add_option("--finer-compare", o.finer_compare,
                  "finercam: the compared classes, as ranks by |score - the target's score| (0 is the target itself; comparison_categories)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--finer-base", o.finer_base, "finercam: the method that makes the map of its score (base_method)")->capture_default_str();
  cmd->add_option("--metrics", o.metrics,
                  "Faithfulness of each map, as pytorch-grad-cam's metrics: comma list of change (CamMultImageConfidenceChange), "
                  "drop (DropInConfidence), increase (IncreaseInConfidence), road-most (ROADMostRelevantFirst), road-least "
                  "(ROADLeastRelevantFirst), road (ROADCombined); batch mode also prints their means")
      ->delimiter(',');
  cmd->add_option("--road-percentiles", o.road_percentiles,
                  "Comma list of percentiles (0 to 100) for the ROAD metrics: road-most and road-least average over them, road combines "
                  "them (default: 80 for road-most, 20 for road-least, 10,20,...,90 for road, as pytorch-grad-cam)")
      ->delimiter(',');
  cmd->add_option("-o,--output", o.output, "Overlay PNG (heatmap blended over the image); - for stdout");
  cmd->add_option("--heatmap", o.heatmap, "Also write the coloured map alone (PNG)");
  cmd->add_option("--raw", o.raw, "Also write the map as H x W float32 .npy in [0, 1]");
  cmd->add_option("--image-weight", o.image_weight, "Share of the image in the overlay")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--colormap", o.colormap, "Colormap: " + value_list(colormap_names()) + " (jet is OpenCV's, as pytorch-grad-cam)")
      ->capture_default_str();
  cmd->add_option("--labels", o.labels, "Class names, one per line (ImageNet's are built in for 1000 classes)");
  cmd->add_flag("--draw-boxes", o.draw_boxes, "Detectors: outline the detections scoring at least --box-threshold on the overlay");
  cmd->add_option("--box-threshold", o.box_threshold, "Detectors: the score from which detections are listed and drawn")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  cmd->add_option("--format", o.format, "text or json (predictions, layer, class and map statistics; one line per image in batch mode)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--batch-size", o.batch_size, "Images per forward in batch mode (IMAGE a directory or a .txt list), and ScoreCAM's masked inputs per forward")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--shard", o.shard, "Batch mode: take every N-th image starting at I, written I/N (Slurm arrays, Kubernetes Indexed Jobs)");
  cmd->add_flag("--index", o.index,
                "Batch mode: also write OUTDIR/index.html (index-I-of-N.html with --shard), a page of this run's overlays with their classes");
  cmd->add_flag("--overwrite", o.overwrite, "Batch mode: redo images whose overlay already exists (default: skip them, so runs resume)");
  add_image_options(*cmd, o.image_options);
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

namespace {

// What decides an overlay's pixels besides the image (check_batch_settings keeps it in OUTDIR).
nlohmann::ordered_json batch_settings(const GradcamOptions& o, const std::string& model_sha256) {
  const ImageOptions& i = o.image_options;
  nlohmann::ordered_json settings = {{"schema", "cnnviz.gradcam-batch"},
                                     {"schema_version", 1},
                                     {"model_sha256", model_sha256},
                                     {"layer", o.layer},
                                     {"method", o.method},
                                     {"eigen_smooth", o.eigen_smooth},
                                     {"aug_smooth", o.aug_smooth},
                                     {"seed", o.seed},
                                     {"class", o.target.target_class ? nlohmann::ordered_json(*o.target.target_class) : nlohmann::ordered_json()},
                                     {"target", o.target.target},
                                     {"reshape", o.reshape},
                                     {"top_k", o.top_k},
                                     {"image_weight", o.image_weight},
                                     {"colormap", o.colormap},
                                     {"input", i.input},
                                     {"resize", i.resize},
                                     {"crop", i.crop},
                                     {"interpolation", i.interpolation},
                                     {"mean", i.mean},
                                     {"std", i.std},
                                     {"no_normalize", i.no_normalize}};
  // Only FinerCAM's runs record its settings, so that the other methods' records stay as they were.
  if (o.method == "finercam") settings.update({{"finer_alpha", o.finer_alpha}, {"finer_compare", o.finer_compare}, {"finer_base", o.finer_base}});
  return settings;
}

// The index page's row of one event: the overlay relative to OUTDIR, the class and its probability.
BatchIndexRow index_row(const CamBatchEvent& event, const std::vector<std::string>& labels, const std::string& outdir) {
  BatchIndexRow row;
  row.image = event.item ? event.item->name : "";
  row.status = batch_status_name(event.status);
  if (!event.output.empty()) row.output = std::filesystem::path(event.output).lexically_relative(outdir).generic_string();
  if (event.status == CamBatchEvent::Status::kError) {
    row.detail = event.message;
  } else if (event.cam) {
    const std::vector<float>& scores = event.cam->scores;
    row.detail = (event.rank > 0 ? "top-" + std::to_string(event.rank) + ": " : "") + class_text(event.cam->target_class, labels);
    for (const auto& p : top_predictions(scores, static_cast<int>(scores.size()), labels)) {
      if (p.index == event.cam->target_class) row.detail += fmt::format(", probability {:.3f}", p.probability);
    }
  }
  return row;
}

// Batch mode: IMAGE is a directory or a list; -o is the output directory. The loop is run_cam_batch's;
// this prints its events (one line per output, or JSON lines) and a progress count on a terminal.
void run_batch(const GradcamOptions& o, const CamRequest& cam, Colormap colormap, DeviceKind device, std::vector<std::string> labels) {
  namespace fs = std::filesystem;
  if (o.output.empty() || o.output == "-") throw Error::usage("batch mode (IMAGE is a directory or a list) needs -o OUTDIR");
  if (!o.heatmap.empty() || !o.raw.empty() || o.draw_boxes) {
    throw Error::usage("--heatmap, --raw and --draw-boxes take one image; batch mode writes overlays");
  }
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec || !fs::is_directory(o.output)) throw Error(ErrorKind::kOutput, "cannot create output directory '" + o.output + "': " + ec.message());
  const std::vector<BatchItem> items = take_shard(list_batch_items(o.image, o.output), o.shard);
  CamBatchRequest request;
  request.cam = cam;
  request.pre = preprocess_options(o.image_options);
  request.limits = image_limits(o.image_options);
  request.batch_size = o.batch_size;
  request.overwrite = o.overwrite;
  request.image_weight = o.image_weight;
  request.colormap = colormap;
  request.metrics = !o.metrics.empty();
  request.metric_names = o.metrics;
  request.road = RoadOptions{o.road_percentiles, o.seed};
  Model model = load_model(o.model, device);
  check_batch_settings(o.output, batch_settings(o, sha256_file(o.model)), o.overwrite);
  if (o.layer != "auto") request.cam.layer = find_layer(model.tree(), o.layer, o.model);

  const bool json = o.format == "json";
  const bool progress = !json && ::isatty(2);
  std::vector<BatchIndexRow> index_rows;
  auto on_event = [&](const CamBatchEvent& event) {
    if (event.cam && labels.empty() && event.cam->scores.size() == 1000) labels = imagenet_labels();
    if (o.index) index_rows.push_back(index_row(event, labels, o.output));
    if (json) {
      write_stdout(json_text(cam_batch_line(event, labels)) + "\n");
    } else if (event.status == CamBatchEvent::Status::kOk) {
      write_stdout(event.output + "\n");
    } else if (event.status == CamBatchEvent::Status::kError) {
      fmt::print(stderr, "{}cnnviz: error: {}\n", progress ? "\n" : "", event.message);
    }
  };
  auto on_chunk = [&](const CamBatchTotals& t) {
    if (!progress) return;
    fmt::print(stderr, "\r{}/{} images", t.written + t.skipped + t.failed, items.size());
    std::fflush(stderr);
  };
  const CamBatchTotals totals = run_cam_batch(model, items, request, on_event, on_chunk);
  if (progress) fmt::print(stderr, "\n");
  if (o.index) {
    ReportHeader header;
    header.model_path = o.model;
    header.model_sha256 = sha256_file(o.model);
    header.cnnviz_version = cnnviz_version();
    header.libtorch_version = libtorch_version();
    header.device = model.device_name();
    header.command_line = shell_command(o.argv);
    header.created = created_time();
    std::string name = "index.html";
    if (!o.shard.empty()) {
      const std::size_t slash = o.shard.find('/');
      name = "index-" + o.shard.substr(0, slash) + "-of-" + o.shard.substr(slash + 1) + ".html";
    }
    const std::string page = (fs::path(o.output) / name).string();
    write_file_atomically(page, render_batch_index(header, index_rows));
    if (!json) write_stdout(page + "\n");
  }
  for (const auto& note : totals.notes) print_note(note);
  if (request.metrics && totals.metrics.images > 0) {
    // Sums and the count, so that the runs of several shards add up (docs/scale-out.md).
    const CamMetricTotals& m = totals.metrics;
    const double n = static_cast<double>(m.images);
    // ROAD's sums only when asked (the others cost one forward and are always there).
    std::vector<std::pair<std::string, double>> road_sums;
    for (const auto& [name, sum] : {std::pair<std::string, double>{"road-most", m.road_most}, {"road-least", m.road_least}, {"road", m.road}}) {
      if (std::find(o.metrics.begin(), o.metrics.end(), name) != o.metrics.end()) road_sums.emplace_back(name, sum);
    }
    if (json) {
      nlohmann::ordered_json sums = {{"maps", m.images},
                                     {"change_sum", m.change}, {"drop_sum", m.drop}, {"increase_sum", m.increase},
                                     {"change_mean", m.change / n}, {"drop_mean", m.drop / n},
                                     {"increase_mean", m.increase / n}};
      for (const auto& [name, sum] : road_sums) sums[name + "_sum"] = sum;
      for (const auto& [name, sum] : road_sums) sums[name + "_mean"] = sum / n;
      write_stdout(json_text(nlohmann::ordered_json{{"aggregate", sums}}) + "\n");
    } else {
      std::string road_means;
      for (const auto& [name, sum] : road_sums) road_means += fmt::format(", {} mean {:.6g}", name, sum / n);
      write_stdout(fmt::format("metrics over {} maps: change mean {:.6g}, drop mean {:.6g}, increase mean {:.6g}{}\n", m.images,
                               m.change / n, m.drop / n, m.increase / n, road_means));
    }
  }
  if (totals.failed) {
    throw Error(ErrorKind::kPartial, std::to_string(totals.failed) + " of " + std::to_string(items.size()) +
                                         " images failed (reported above); the other overlays are in '" + o.output + "'");
  }
}

}  // namespace

void run_gradcam_command(const GradcamOptions& o) {
  CamRequest request;
  request.method = parse_cam_method(o.method);
  request.target = target_of(o.target);
  request.reshape = parse_reshape(o.reshape);
  request.eigen_smooth = o.eigen_smooth;
  request.aug_smooth = o.aug_smooth;
  request.seed = o.seed;
  request.finer.alpha = o.finer_alpha;
  request.finer.comparisons = o.finer_compare;
  request.finer.base = static_cast<CamMethod>(name_index(cam_method_names(), o.finer_base, "--finer-base"));
  check_cam_metrics(o.metrics, request.target);
  const RoadOptions road{o.road_percentiles, o.seed};
  check_road_options(o.metrics, road);
  request.top_k = o.top_k;
  const Colormap colormap = parse_colormap(o.colormap);
  if (o.output.empty() && o.heatmap.empty() && o.raw.empty() && o.format != "json") {
    throw Error::usage("nothing to write: give -o overlay.png, --heatmap, --raw or --format json");
  }
  // Standard output carries one thing: a single "-" output, or the text or JSON report.
  const int to_stdout = (o.output == "-") + (o.heatmap == "-") + (o.raw == "-");
  if (to_stdout > 1 || (to_stdout == 1 && o.format == "json")) {
    throw Error::usage("only one of -o, --heatmap and --raw can be '-', and not with --format json");
  }
  if (to_stdout == 1 && o.top_k > 0) throw Error::usage("--top-k writes one file per class; give file names instead of '-'");
  request.max_memory_bytes = memory_limit(o.common);
  const DeviceKind device = apply_common_options(o.common);
  std::vector<std::string> labels = o.labels.empty() ? std::vector<std::string>{} : load_labels(o.labels);
  if (is_batch_source(o.image)) {
    run_batch(o, request, colormap, device, std::move(labels));
    return;
  }
  if (!o.shard.empty()) throw Error::usage("--shard splits a batch; give a directory or a .txt list of images");

  // The image is read (and checked) before the model is loaded; preprocessing waits for the memory guard.
  PreprocessOptions pre = preprocess_options(o.image_options);
  const Image image = load_image(o.image, image_limits(o.image_options));
  Model model = load_model(o.model, device);
  adapt_to_detector(model, o.model, image, o.image_options, o.target, pre, request.target);
  if (o.draw_boxes && request.target.kind != TargetKind::kBox) {
    throw Error::usage("--draw-boxes draws a detector's boxes; '" + o.model + "' is not explained for a box (--target box, on detectors)");
  }
  request.layer = o.layer == "auto" ? -1 : find_layer(model.tree(), o.layer, o.model);
  const ImageCams explained = run_cam_image(model, image, pre, request, o.batch_size);
  const Image& seen = explained.image.seen;
  const std::vector<CamResult>& cams = explained.cams;
  for (const auto& note : explained.notes) print_note(note);
  if (labels.empty() && cams.front().scores.size() == 1000) labels = imagenet_labels();

  CamImageReport report{o.model, o.image, o.method, model.tree().nodes[static_cast<std::size_t>(explained.layer)], cams, {}, labels, o.metrics, {},
                        o.box_threshold};
  if (!o.metrics.empty()) report.metrics = cam_confidence(model, explained.image.input, cams, request, o.metrics, road);
  // In JSON mode the written paths go into the document instead of their own stdout lines.
  const bool json = o.format == "json";
  for (std::size_t r = 0; r < cams.size(); ++r) {
    const CamResult& cam = cams[r];
    const int rank = static_cast<int>(r) + 1;
    std::vector<std::string>& mine = report.files.emplace_back();
    auto save = [&](const std::string& given, auto make_bytes) {
      if (given.empty()) return;
      const std::string path = ranked_path(given, rank, o.top_k);
      const std::string bytes = make_bytes();
      json ? write_file_atomically(path, bytes) : write_output(path, bytes);
      mine.push_back(path);
    };
    save(o.output, [&] {
      Image overlay = overlay_heatmap(seen, cam.map, o.image_weight, colormap);
      if (o.draw_boxes) draw_detections(overlay, cam.detections, o.box_threshold);
      return encode_png(overlay);
    });
    save(o.heatmap, [&] { return encode_png(heatmap_image(cam.map, colormap)); });
    save(o.raw, [&] { return encode_npy_float32(cam.map.shape, cam.map.values.data()); });
  }
  if (json) {
    write_stdout(json_text(cam_image_json(report), 2) + "\n");
  } else if (to_stdout == 0) {
    write_stdout(cam_image_text(report));
  }
}

}  // namespace cnnviz::cli
