#pragma once
// `cnnviz report`'s page: one self-contained HTML file (inline CSS, script and PNG pictures, nothing
// fetched) that shows a model: its summary as a tree to fold and search, its kernels, and per image the
// predictions, a CAM gallery, saliency and feature maps; the same record as JSON inside the page.
// Plain data in, text out: the CLI gathers the pictures (library calls), this only lays them out.
// The page reads without JavaScript (the tree is nested lists of <details>); the script adds search.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnnviz/labels.h"
#include "cnnviz/layer_record.h"
#include "cnnviz/summary_stats.h"

namespace cnnviz {

/// One picture of the page: encoded bytes and what it shows.
struct ReportPicture {
  std::string bytes;                ///< encode_png's or encode_jpeg's bytes; empty: left out (fit_html_report)
  std::string mime = "image/png";   ///< or "image/jpeg"
  int width = 0;
  int height = 0;
  std::string alt;  ///< the text alternative
};

/// A picture with a title and a caption ("features.0 (Conv2d)", "[64, 3, 11, 11]: filters 0-15 of 64").
struct ReportFigure {
  std::string title;
  std::string caption;
  ReportPicture picture;
};

/// One cell of an image's CAM gallery.
struct ReportCam {
  std::string target;      ///< as --target writes it, resolved: "class:24"
  std::string class_text;  ///< "24 (great grey owl)"
  float target_score = 0;
  std::string metrics;     ///< cam_metrics_text(); empty when none were asked
  ReportPicture overlay;
};

/// What the page shows of one input image.
struct ReportImage {
  std::string path;
  ReportPicture seen;                    ///< the image as the model saw it (resized and cropped)
  std::vector<Prediction> predictions;   ///< the top 5 (empty for models without class scores)
  std::string cam_layer;                 ///< "layer4 (Sequential)"
  std::vector<std::string> cam_methods;  ///< the gallery's rows
  std::vector<std::string> cam_columns;  ///< its columns: "top-1", "top-2", ... or the target
  std::vector<ReportCam> cams;           ///< row-major: cams[method * cam_columns.size() + column]
  std::vector<std::string> detections;   ///< a detector's detections, one line each ("label 1 (0.93): 12, 40, 210, 300")
  std::optional<ReportFigure> saliency;
  std::vector<ReportFigure> features;    ///< one per drawn layer
  std::vector<std::string> notes;
};

/// What was run, for the page's header.
struct ReportHeader {
  std::string model_path;
  std::string model_sha256;
  int64_t model_bytes = 0;
  std::string cnnviz_version;
  std::string libtorch_version;
  std::string device;
  std::string input;         ///< "1,3,224,224"; empty without a forward
  std::string command_line;  ///< shell-quoted
  std::string created;       ///< ISO 8601, UTC
};

/// The page's content.
struct HtmlReport {
  ReportHeader header;
  std::vector<LayerRecord> records;  ///< the summary's rows (summarize_model)
  SummaryStats stats;
  bool has_shapes = false;           ///< the summary ran a forward (shapes and mult-adds)
  bool has_flops = false;            ///< LayerRecord::flops were counted
  std::string totals_text;           ///< torchinfo's totals and size estimates, as the text table ends
  std::vector<ReportFigure> kernels;
  std::vector<ReportImage> images;
  std::vector<std::string> omitted;  ///< what was left out, one line each
  /// The record embedded as JSON (`<script type="application/json" id="cnnviz-record">`); the page adds
  /// "omitted" to it.
  nlohmann::ordered_json record;
};

/// The whole page. Summary rows become nested <li class="row" data-path data-index> items (one per
/// record, in order); a container's children sit in an open <details>; two or more consecutive sibling
/// containers of one class are wrapped in a closed group ("BasicBlock × 2"). Pictures are data: URIs (PNG or JPEG),
/// loading="lazy". Deterministic: equal reports give equal bytes.
std::string render_html_report(const HtmlReport& report);

/// Leaves pictures out until the rendered page is at most `max_bytes`: feature maps first (the last
/// image's last layer first), then kernels (the last layer first), then saliency maps, then CAMs. Each
/// one left out is named in report.omitted with its size. Returns the page's size; Error(kResource)
/// when the page without any picture is still larger than `max_bytes`.
int64_t fit_html_report(HtmlReport& report, int64_t max_bytes);

/// The groups the tree folds, as [first row, one past the last member's last descendant): two or more
/// consecutive sibling containers of one class, with one output shape and the same classes below them
/// (ResNet-18's layer1.0 and layer1.1).
std::vector<std::pair<std::size_t, std::size_t>> repeated_blocks(const std::vector<LayerRecord>& records);

/// One row of a batch run's index page (gradcam --index).
struct BatchIndexRow {
  std::string image;   ///< the input image, as listed (BatchItem::name)
  std::string output;  ///< the overlay's path relative to the page; empty when none was written
  std::string status;  ///< "ok", "skipped" (written by an earlier run) or "error"
  std::string detail;  ///< "top-2: 24 (great grey owl), probability 0.012", or the error's message
};

/// A page listing a batch run's overlays, one row each: thumbnails are the overlay files themselves,
/// linked by relative path (the page sits in the output folder beside them, so the folder moves as a
/// whole); no script. `header` says what was run.
std::string render_batch_index(const ReportHeader& header, const std::vector<BatchIndexRow>& rows);

/// Text safe inside HTML elements and attribute values (& < > " ' escaped).
std::string html_escape(const std::string& text);

/// RFC 4648 base64.
std::string base64_encode(const std::string& bytes);

}  // namespace cnnviz
