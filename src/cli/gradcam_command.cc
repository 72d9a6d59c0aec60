#include "gradcam_command.h"

#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cnnviz/cam.h"
#include "cnnviz/error.h"
#include "cnnviz/json_text.h"
#include "cnnviz/image.h"
#include "cnnviz/labels.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/memory_guard.h"
#include "cnnviz/model.h"
#include "cnnviz/npy.h"
#include "cnnviz/output_file.h"
#include "cnnviz/overlay.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/sha256.h"
#include "gradcam_batch.h"
#include "predictions.h"

namespace cnnviz::cli {

CLI::App* add_gradcam_command(CLI::App& app, GradcamOptions& o) {
  CLI::App* cmd = app.add_subcommand("gradcam", "Grad-CAM and friends: where a classifier looks, as a heatmap over the image");
  cmd->add_option("model", o.model, "TorchScript classifier (.pt) returning class scores [N, K]")->required();
  cmd->add_option("image", o.image, "PNG or JPEG image")->required();
  auto* cls = cmd->add_option("--class", o.target_class, "Class index to explain (default: the top-1 class)");
  cmd->add_option("--top-k", o.top_k, "Explain the K best classes instead: one map each, outputs named <stem>.top1.png, <stem>.top2.png, ...")
      ->check(CLI::Range(1, 1000))
      ->excludes(cls);
  cmd->add_option("--layer", o.layer, "Target layer path, or auto: the last layer with a spatial output")->capture_default_str();
  cmd->add_option("--method", o.method, "CAM method: " + value_list(cam_method_names()))->capture_default_str();
  cmd->add_option("-o,--output", o.output, "Overlay PNG (heatmap blended over the image); - for stdout");
  cmd->add_option("--heatmap", o.heatmap, "Also write the coloured map alone (PNG)");
  cmd->add_option("--raw", o.raw, "Also write the map as H x W float32 .npy in [0, 1]");
  cmd->add_option("--image-weight", o.image_weight, "Share of the image in the overlay")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--colormap", o.colormap, "Colormap: " + value_list(colormap_names()) + " (jet is OpenCV's, as pytorch-grad-cam)")
      ->capture_default_str();
  cmd->add_option("--labels", o.labels, "Class names, one per line (ImageNet's are built in for 1000 classes)");
  cmd->add_option("--format", o.format, "text or json (predictions, layer, class and map statistics; one line per image in batch mode)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--batch-size", o.batch_size, "Images per forward in batch mode (IMAGE a directory or a .txt list), and ScoreCAM's masked inputs per forward")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--shard", o.shard, "Batch mode: take every N-th image starting at I, written I/N (Slurm arrays, Kubernetes Indexed Jobs)");
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
  return {{"schema", "cnnviz.gradcam-batch"},
          {"schema_version", 1},
          {"model_sha256", model_sha256},
          {"layer", o.layer},
          {"method", o.method},
          {"class", o.target_class ? nlohmann::ordered_json(*o.target_class) : nlohmann::ordered_json()},
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
}

// Batch mode: IMAGE is a directory or a list; -o is the output directory. Overlays are written one by
// one (atomically), existing ones are skipped, and a failing image is reported and skipped.
void run_batch(const GradcamOptions& o, CamRequest request, Colormap colormap, DeviceKind device,
               std::vector<std::string> labels) {
  namespace fs = std::filesystem;
  if (o.output.empty() || o.output == "-") throw Error::usage("batch mode (IMAGE is a directory or a list) needs -o OUTDIR");
  if (!o.heatmap.empty() || !o.raw.empty()) throw Error::usage("--heatmap and --raw take one image; batch mode writes overlays");
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec || !fs::is_directory(o.output)) throw Error(ErrorKind::kOutput, "cannot create output directory '" + o.output + "': " + ec.message());
  const std::vector<BatchItem> items = take_shard(list_batch_items(o.image, o.output), o.shard);
  const PreprocessOptions pre = preprocess_options(o.image_options);
  const ImageLimits limits = image_limits(o.image_options);
  Model model = load_model(o.model, device);
  check_batch_settings(o.output, batch_settings(o, sha256_file(o.model)), o.overwrite);
  const bool json = o.format == "json";
  const bool progress = !json && ::isatty(2);
  const int ranks = std::max(1, o.top_k);
  auto done = [&](const BatchItem& item) {
    for (int r = 1; r <= ranks; ++r) {
      if (!fs::exists(ranked_path(item.output, r, o.top_k))) return false;
    }
    return true;
  };
  int written = 0, skipped = 0, failed = 0;
  bool layer_known = o.layer != "auto";
  if (layer_known) request.layer = find_layer(model.tree(), o.layer, o.model);
  if (!items.empty()) {
    // Once, before any image: every batch has the same shape. An image of the input's size stands in
    // for the real ones, whose preprocessing is checked one by one. With --layer auto, the root's gradient.
    const Image typical{static_cast<int>(pre.width), static_cast<int>(pre.height), static_cast<int>(pre.channels), {}};
    check_model_input_memory(model, typical, pre, request.max_memory_bytes,
                             std::min<int64_t>(o.batch_size, static_cast<int64_t>(items.size())), layer_known ? request.layer : 0);
  }

  // One line per output: per image, or per image and rank with --top-k.
  auto report = [&](const BatchItem& item, const std::string& status, const CamResult* cam, const std::string& message, int rank = 0) {
    const std::string output = ranked_path(item.output, rank == 0 ? 1 : rank, o.top_k);
    if (json) {
      nlohmann::ordered_json line = {{"image", item.image}, {"output", output}, {"status", status}};
      if (o.top_k && rank > 0) line["rank"] = rank;
      if (cam) {
        const auto best = top_predictions(cam->scores, 1, labels);
        line["class"] = cam->target_class;
        line["label"] = label_of(cam->target_class, labels);
        line["top1"] = best.empty() ? -1 : best[0].index;
        line["top1_probability"] = best.empty() ? 0.0f : best[0].probability;
      }
      if (!message.empty()) line["message"] = message;
      write_stdout(json_text(line) + "\n");
    } else if (status == "ok") {
      write_stdout(output + "\n");
    } else if (status == "error") {
      fmt::print(stderr, "{}cnnviz: error: {}\n", progress ? "\n" : "", message);
    }
  };

  std::size_t next = 0;
  while (next < items.size()) {
    std::vector<const BatchItem*> chunk;
    std::vector<Image> seen;
    FloatArray batch;
    while (next < items.size() && static_cast<int>(chunk.size()) < o.batch_size) {
      const BatchItem& item = items[next++];
      if (!o.overwrite && done(item)) {
        ++skipped;
        report(item, "skipped", nullptr, "");
        continue;
      }
      try {
        const Image image = load_image(item.image, limits);
        if (request.max_memory_bytes > 0) {
          check_memory(preprocess_memory_bytes(image, pre), request.max_memory_bytes, "preprocessing '" + item.image + "'");
        }
        seen.push_back(resize_for_model(image, pre));
        const FloatArray input = model_input_from_resized(seen.back(), pre);
        batch.values.insert(batch.values.end(), input.values.begin(), input.values.end());
        batch.shape = input.shape;
        chunk.push_back(&item);
      } catch (const Error& e) {
        ++failed;
        report(item, "error", nullptr, e.what());
      }
    }
    if (chunk.empty()) continue;
    batch.shape[0] = static_cast<int64_t>(chunk.size());
    if (!layer_known) {
      FloatArray first{{1, batch.shape[1], batch.shape[2], batch.shape[3]},
                       std::vector<float>(batch.values.begin(), batch.values.begin() + batch.shape[1] * batch.shape[2] * batch.shape[3])};
      request.layer = auto_cam_layer(model, first);
      layer_known = true;
    }
    const std::vector<CamResult> cams = compute_cams(model, batch, request, {}, o.batch_size);
    if (labels.empty() && !cams.empty() && cams[0].scores.size() == 1000) labels = imagenet_labels();
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const BatchItem& item = *chunk[i];
      try {
        fs::create_directories(fs::path(item.output).parent_path(), ec);
        for (int r = 0; r < ranks; ++r) {
          const CamResult& cam = cams[i * static_cast<std::size_t>(ranks) + static_cast<std::size_t>(r)];
          write_file_atomically(ranked_path(item.output, r + 1, o.top_k), encode_png(overlay_heatmap(seen[i], cam.map, o.image_weight, colormap)));
          report(item, "ok", &cam, "", o.top_k ? r + 1 : 0);
        }
        ++written;
      } catch (const Error& e) {
        ++failed;
        report(item, "error", nullptr, e.what());
      }
    }
    if (progress) {
      fmt::print(stderr, "\r{}/{} images", written + skipped + failed, items.size());
      std::fflush(stderr);
    }
  }
  if (progress) fmt::print(stderr, "\n");
  if (failed) {
    throw Error(ErrorKind::kPartial, std::to_string(failed) + " of " + std::to_string(items.size()) +
                                         " images failed (reported above); the other overlays are in '" + o.output + "'");
  }
}

}  // namespace

void run_gradcam_command(const GradcamOptions& o) {
  CamRequest request;
  request.method = parse_cam_method(o.method);
  request.target_class = o.target_class;
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
  const PreprocessOptions pre = preprocess_options(o.image_options);
  const Image image = load_image(o.image, image_limits(o.image_options));
  Model model = load_model(o.model, device);
  const int layer_given = o.layer == "auto" ? -1 : find_layer(model.tree(), o.layer, o.model);
  // With --layer auto the layer is not known yet: count the whole model's gradient (the root's).
  check_model_input_memory(model, image, pre, request.max_memory_bytes, 1, std::max(layer_given, 0));
  const Image seen = resize_for_model(image, pre);
  const FloatArray input = model_input_from_resized(seen, pre);
  request.layer = layer_given >= 0 ? layer_given : auto_cam_layer(model, input);
  const std::vector<CamResult> cams = compute_cams(model, input, request, {request.target_class}, o.batch_size);
  for (const auto& note : cams.front().notes) print_note(note);
  if (labels.empty() && cams.front().scores.size() == 1000) labels = imagenet_labels();

  const ModuleNode& layer = model.tree().nodes[static_cast<std::size_t>(request.layer)];
  const auto predictions = top_predictions(cams.front().scores, 5, labels);
  // In JSON mode the written paths go into the document instead of their own stdout lines.
  const bool json = o.format == "json";
  std::vector<std::string> written;
  auto cam_docs = nlohmann::ordered_json::array();
  for (std::size_t r = 0; r < cams.size(); ++r) {
    const CamResult& cam = cams[r];
    const int rank = static_cast<int>(r) + 1;
    std::vector<std::string> mine;
    auto save = [&](const std::string& given, auto make_bytes) {
      if (given.empty()) return;
      const std::string path = ranked_path(given, rank, o.top_k);
      const std::string bytes = make_bytes();
      json ? write_file_atomically(path, bytes) : write_output(path, bytes);
      mine.push_back(path);
      written.push_back(path);
    };
    save(o.output, [&] { return encode_png(overlay_heatmap(seen, cam.map, o.image_weight, colormap)); });
    save(o.heatmap, [&] { return encode_png(heatmap_image(cam.map, colormap)); });
    save(o.raw, [&] { return encode_npy_float32(cam.map.shape, cam.map.values.data()); });
    double sum = 0;
    for (float v : cam.map.values) sum += v;
    cam_docs.push_back({{"rank", rank},
                        {"class", cam.target_class},
                        {"label", label_of(cam.target_class, labels)},
                        {"map", {{"shape", cam.map.shape},
                                 {"layer_shape", cam.low_res.shape},
                                 {"mean", sum / static_cast<double>(cam.map.values.size())}}},
                        {"outputs", mine}});
  }

  if (json) {
    write_stdout(json_text(nlohmann::ordered_json{{"model", o.model},
                                        {"image", o.image},
                                        {"method", o.method},
                                        {"layer", layer.path},
                                        {"layer_class", layer.class_name},
                                        {"predictions", predictions_json(predictions)},
                                        {"cams", cam_docs},
                                        {"outputs", written}},
                           2) + "\n");
    return;
  }
  std::string classes;
  for (const CamResult& cam : cams) classes += (classes.empty() ? "" : ", ") + class_text(cam.target_class, labels);
  std::string text = fmt::format("layer {} ({}), class{} {}\n", layer.path, layer.class_name, cams.size() > 1 ? "es" : "", classes);
  text += predictions_text(predictions);
  if (to_stdout == 0) write_stdout(text);
}

}  // namespace cnnviz::cli
