// Detectors (box targets, FPN maps; src/cnnviz/attribution/target_score.cc, cam.cc): the scripted
// Faster R-CNN of seed 004 against pytorch-grad-cam's own detection tutorial computed on the same
// weights (scripts/make-detection-refs, tests/golden/detection/cases.json).

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cnnviz/cam.h"
#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/overlay.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/runtime.h"
#include "cnnviz/saliency.h"
#include "cnnviz/target.h"
#include "cli_checks.h"
#include "html_checks.h"
#include "npy_reference.h"

using namespace cnnviz;

TEST_CASE("parse_target: box forms", "[target]") {
  const Target any = parse_target("box");
  CHECK(any.kind == TargetKind::kBox);
  CHECK((!any.index && !any.box));
  CHECK(*parse_target("box:75").index == 75);
  const Target given = parse_target("box:3:10,20.5,110,96.25");
  CHECK(*given.index == 3);
  REQUIRE(given.box);
  CHECK(*given.box == std::array<float, 4>{10, 20.5f, 110, 96.25f});
  CHECK(target_text(given, 3) == "box:3:10,20.5,110,96.25");
  for (const char* bad : {"box:x", "box:3:1,2,3", "box:3:1,2,3,4,5", "box:3:5,2,3,4", "box:3:1,2,3,nan", "box:3:", "box::1,2,3,4"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_target(bad), Error);
  }
  CHECK(parse_reshape("fpn").kind == ReshapeKind::kFpn);
  CHECK_THROWS_AS(read_layout({1, 256, 7, 7}, parse_reshape("fpn"), 224, 224), Error);
}

TEST_CASE("box_iou is torchvision's", "[target]") {
  CHECK(box_iou({0, 0, 10, 10}, {0, 0, 10, 10}) == 1.0f);
  CHECK(box_iou({0, 0, 10, 10}, {5, 0, 15, 10}) == Approx(50.0 / 150.0));
  CHECK(box_iou({0, 0, 10, 10}, {20, 20, 30, 30}) == 0.0f);
}

TEST_CASE("draw_detections outlines the boxes above the threshold only", "[overlay]") {
  Image image{40, 30, 3, std::vector<uint8_t>(40 * 30 * 3, 128)};
  draw_detections(image, {{1, 0.9f, {5, 5, 20, 15}}, {2, 0.2f, {25, 5, 35, 25}}}, 0.5f);
  auto at = [&](int x, int y) { return image.pixels[static_cast<std::size_t>((y * 40 + x) * 3)]; };
  CHECK(at(5, 5) != 128);    // the first box's corner
  CHECK(at(12, 15) != 128);  // its bottom edge
  CHECK(at(12, 10) == 128);  // its inside
  CHECK(at(25, 5) == 128);   // the second box scores below the threshold
}

#if CNNVIZ_TEST_MODERN_MODELS
namespace {

FloatArray detector_input(const nlohmann::json& doc) {
  const Image image = load_image(test::golden_path(doc["image"].get<std::string>()));
  PreprocessOptions pre;
  pre.height = image.height;
  pre.width = image.width;
  pre.normalize = false;
  return preprocess_image(image, pre);
}

}  // namespace

// pytorch-grad-cam's Faster R-CNN tutorial: EigenCAM on model.backbone with
// fasterrcnn_reshape_transform, GradCAM on a layer with FasterRCNNBoxScoreTarget (the best detection,
// and a box given by hand), from the scripted file: the same detections first, then the same maps.
TEST_CASE("Faster R-CNN: detections, box targets and FPN maps equal pytorch-grad-cam's", "[target][cam][models][modern]") {
  const nlohmann::json doc = nlohmann::json::parse(test::read_file(test::golden_path("detection/cases.json")));
  const FloatArray input = detector_input(doc);
  set_threads(1);
  Model model = load_model(test::model_path("fasterrcnn_resnet50_fpn.script.pt"), DeviceKind::kCpu);
  REQUIRE(model.takes_image_list());
  const auto& want = doc["detections"];
  for (const auto& c : doc["cases"]) {
    INFO(c["method"] << " at " << c["layer"] << " box from " << c["box_from"]);
    CamRequest request;
    request.layer = find_layer(model.tree(), c["layer"].get<std::string>(), "fasterrcnn");
    request.method = parse_cam_method(c["method"].get<std::string>());
    request.reshape = parse_reshape(c["reshape"].get<std::string>());
    request.target.kind = TargetKind::kBox;
    if (c["box_from"] == "given") {
      request.target.index = c["label"].get<int>();
      std::array<float, 4> box{};
      for (std::size_t i = 0; i < 4; ++i) box[i] = c["box"][i].get<float>();
      request.target.box = box;
    }
    const CamResult got = compute_cam(model, input, request);
    REQUIRE(got.detections.size() == want["scores"].size());
    for (std::size_t k = 0; k < got.detections.size(); ++k) {
      CHECK(got.detections[k].label == want["labels"][k].get<int>());
      CHECK(std::fabs(got.detections[k].score - want["scores"][k].get<float>()) <= 1e-5);
      for (std::size_t i = 0; i < 4; ++i) CHECK(std::fabs(got.detections[k].box[i] - want["boxes"][k][i].get<float>()) <= 1e-3);
    }
    CHECK(got.target_class == c["label"].get<int>());
    CHECK(std::fabs(got.target_score - c["target_score"].get<float>()) <= 1e-5);
    CHECK(test::max_abs_diff(got.map, test::load_npy_float32(test::golden_path("detection/" + c["map"].get<std::string>()))) <= 1e-5);
  }
  set_threads(usable_cores());
}

// saliency --target box: the input gradient of the best detection's box score, as PyTorch's autograd
// gives it on the eager model (through the model's own resize and normalisation, and roi_align).
TEST_CASE("Faster R-CNN: the saliency of a box equals PyTorch's input gradient", "[target][saliency][models][modern]") {
  const nlohmann::json doc = nlohmann::json::parse(test::read_file(test::golden_path("detection/cases.json")));
  const FloatArray input = detector_input(doc);
  set_threads(1);
  Model model = load_model(test::model_path("fasterrcnn_resnet50_fpn.script.pt"), DeviceKind::kCpu);
  SaliencyRequest request;
  request.target = parse_target("box");
  const SaliencyResult got = compute_saliency(model, input, request);
  const auto& want = doc["saliency"];
  CHECK(got.target_class == want["label"].get<int>());
  CHECK_THAT(got.target, Catch::StartsWith("box:" + std::to_string(want["label"].get<int>()) + ":"));
  const FloatArray gradient = test::load_npy_float32(test::golden_path("detection/" + want["gradient"].get<std::string>()));
  REQUIRE(got.gradient.shape == gradient.shape);
  // Relative to the gradient's largest magnitude: both sides sum roi_align's backward in float32.
  CHECK(test::max_abs_diff(got.gradient, gradient) <= 1e-4 * test::abs_max(gradient));
  set_threads(usable_cores());
}

TEST_CASE("Faster R-CNN: wrong targets and layers are one-line errors", "[target][cam][models][modern]") {
  const nlohmann::json doc = nlohmann::json::parse(test::read_file(test::golden_path("detection/cases.json")));
  const FloatArray input = detector_input(doc);
  Model model = load_model(test::model_path("fasterrcnn_resnet50_fpn.script.pt"), DeviceKind::kCpu);
  CamRequest request;
  request.layer = find_layer(model.tree(), "backbone.body.layer4", "fasterrcnn");
  auto message_of = [&](const CamRequest& r) -> std::pair<ErrorKind, std::string> {
    try {
      compute_cam(model, input, r);
    } catch (const Error& e) {
      return {e.kind(), e.what()};
    }
    return {ErrorKind::kInternal, ""};
  };
  // A class target on a detector names the box target.
  auto [kind, text] = message_of(request);
  CHECK(kind == ErrorKind::kData);
  CHECK_THAT(text, Catch::Contains("--target box"));
  // A box nothing overlaps.
  request.target = parse_target("box:1:0,0,3,3");
  std::tie(kind, text) = message_of(request);
  CHECK(kind == ErrorKind::kData);
  CHECK_THAT(text, Catch::Contains("IoU above 0.5"));
  // A gradient method at the backbone's dict of maps.
  request.target = parse_target("box");
  request.layer = find_layer(model.tree(), "backbone", "fasterrcnn");
  std::tie(kind, text) = message_of(request);
  CHECK(kind == ErrorKind::kUsage);
  CHECK_THAT(text, Catch::Contains("--method eigencam"));
  // --layer auto picks the backbone for EigenCAM and its feature extractor's last layer for Grad-CAM.
  CHECK(model.tree().nodes.at(static_cast<std::size_t>(auto_cam_layer(model, input, {}, {}, false))).path == "backbone");
  CHECK(model.tree().nodes.at(static_cast<std::size_t>(auto_cam_layer(model, input, {}, {}, true))).path == "backbone.body.layer4");
}
// The command as the README shows it: a detector gets its picture as it is and its best detection by
// default, lists the detections it found, and draws them on the overlay; a gradient method at the
// backbone's dict is refused in one line.
TEST_CASE("cli: gradcam on Faster R-CNN lists and draws its detections", "[cli][target][models][modern]") {
  const nlohmann::json doc = nlohmann::json::parse(test::read_file(test::golden_path("detection/cases.json")));
  const std::string model = test::model_path("fasterrcnn_resnet50_fpn.script.pt");
  const std::string image = test::golden_path("cam/input.png");
  test::TempDir dir;
  auto r = test::run_cnnviz({"gradcam", model, image, "--method", "eigencam", "--draw-boxes", "--box-threshold", "0.8", "--threads", "1",
                             "-o", dir.file("det.png"), "--raw", dir.file("det.npy"), "--format", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("is a detector"));
  const auto out = nlohmann::json::parse(r.out);
  CHECK(out["layer"] == "backbone");
  CHECK(out["detections_total"] == doc["detections"]["scores"].size());
  std::size_t above = 0;
  for (const auto& s : doc["detections"]["scores"]) above += s.get<float>() >= 0.8f;
  CHECK(out["detections"].size() == above);
  CHECK(out["cams"][0]["target"].get<std::string>().rfind("box:" + std::to_string(doc["cases"][0]["label"].get<int>()) + ":", 0) == 0);
  // The map is case 0's (EigenCAM at the backbone, read as fpn), and the boxes are drawn over the overlay.
  CHECK(test::max_abs_diff(test::load_npy_float32(dir.file("det.npy")), test::load_npy_float32(test::golden_path("detection/case0.npy"))) <= 1e-5);
  r = test::run_cnnviz({"gradcam", model, image, "--method", "eigencam", "-o", dir.file("plain.png")});
  REQUIRE(r.exit_code == 0);
  CHECK(test::read_file(dir.file("plain.png")) != test::read_file(dir.file("det.png")));

  // cnnviz report lists the same detections and gives the same record for the map.
  r = test::run_cnnviz({"report", model, image, "--methods", "eigencam", "--saliency", "none", "--layers", "backbone.body.conv1",
                        "--box-threshold", "0.8", "--threads", "1", "-o", dir.file("det.html")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string page = test::read_file(dir.file("det.html"));
  const auto record = nlohmann::json::parse(test::embedded_record_text(page));
  CHECK(record["images"][0]["cams"][0]["detections"] == out["detections"]);
  for (const char* key : {"target", "target_score", "map"}) CHECK(record["images"][0]["cams"][0]["cams"][0][key] == out["cams"][0][key]);
  CHECK(test::count_occurrences(page, "<ol class=\"detections\">") == 1);
  const std::size_t list = page.find("<ol class=\"detections\">");
  CHECK(static_cast<std::size_t>(test::count_occurrences(page.substr(list, page.find("</ol>", list) - list), "<li>")) == above);

  // Each error is one line after the notes on what the run decided (the detector's input, the layer).
  auto check_failure = [&](const std::vector<std::string>& args, int code, const std::vector<std::string>& mentions) {
    const auto failed = test::run_cnnviz(args);
    INFO(failed.err);
    CHECK(failed.exit_code == code);
    CHECK(failed.out.empty());
    std::size_t errors = 0;
    for (std::size_t at = failed.err.find("cnnviz: error:"); at != std::string::npos; at = failed.err.find("cnnviz: error:", at + 1)) ++errors;
    CHECK(errors == 1);
    CHECK(failed.err.find("frame #") == std::string::npos);
    for (const auto& m : mentions) CHECK_THAT(failed.err, Catch::Contains(m));
  };
  check_failure({"gradcam", model, image, "--layer", "backbone", "-o", dir.file("x.png")}, 2, {"returns a dict of 5 maps", "--method eigencam"});
  check_failure({"gradcam", model, image, "--class", "3", "-o", dir.file("x.png")}, 5, {"a detector's", "--target box"});
  check_failure({"saliency", model, image, "--class", "3", "-o", dir.file("x.png")}, 5, {"a detector's", "--target box"});
  CHECK(!std::ifstream(dir.file("x.png")).good());
}
#endif
