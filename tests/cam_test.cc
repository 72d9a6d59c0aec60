// The CAM family against pytorch-grad-cam 1.5's own output (tests/golden/cam: GradCAM on VGG11
// features[-1] = features.20, the file made by torch.manual_seed(0); vgg11(weights=None), as
// models/export_models.py does).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "cnnviz/cam.h"
#include "cnnviz/cam_metrics.h"
#include "cnnviz/road.h"
#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/npy.h"
#include "cnnviz/overlay.h"
#include "cnnviz/target.h"
#include "npy_reference.h"
#include "overlay_checks.h"

using namespace cnnviz;

namespace {

FloatArray golden_array(const std::string& name) {
  const NpyArray npy = decode_npy(test::read_file(test::golden_path("cam/" + name)));
  REQUIRE(npy.descr == "<f4");
  FloatArray a;
  a.shape = npy.shape;
  a.values.resize(npy.data.size() / 4);
  std::memcpy(a.values.data(), npy.data.data(), npy.data.size());
  return a;
}

}  // namespace

TEST_CASE("Grad-CAM equals pytorch-grad-cam on VGG11", "[cam][models]") {
  const FloatArray input = golden_array("input_tensor.npy");
  const FloatArray logits = golden_array("vgg11_logits.npy");
  for (const char* variant : {"script", "trace"}) {
    INFO(variant);
    Model model = load_model(test::model_path(std::string("vgg11.") + variant + ".pt"), DeviceKind::kCpu);
    CamRequest request;
    request.layer = find_layer(model.tree(), "features.20", "vgg11");
    // The same model first: the logits must agree before the maps can.
    request.target.index = 24;
    const CamResult c24 = compute_cam(model, input, request);
    REQUIRE(c24.scores.size() == logits.values.size());
    for (std::size_t i = 0; i < logits.values.size(); ++i) CHECK(std::fabs(c24.scores[i] - logits.values[i]) <= 1e-5);
    CHECK(test::max_abs_diff(c24.map, golden_array("vgg11_features-1_gradcam_c24.npy")) <= 1e-5);

    // The overlay, with OpenCV's JET and show_cam_on_image's truncations.
    const Image image = load_image(test::golden_path("cam/input.png"));
    test::check_overlay_matches(overlay_heatmap(image, c24.map), load_image(test::golden_path("cam/vgg11_features-1_gradcam_c24.png")));

    request.target.index.reset();  // top-1
    const CamResult top1 = compute_cam(model, input, request);
    CHECK(top1.target_class == 30);
    CHECK(test::max_abs_diff(top1.map, golden_array("vgg11_features-1_gradcam_top1.npy")) <= 1e-5);
  }
}

TEST_CASE("the method table has one row per CamMethod, in enum order, with what each needs", "[cam]") {
  const std::vector<CamMethodInfo>& methods = cam_methods();
  REQUIRE(methods.size() == cam_method_names().size());
  for (std::size_t i = 0; i < methods.size(); ++i) {
    INFO(methods[i].name);
    CHECK(static_cast<std::size_t>(methods[i].method) == i);
    CHECK(parse_cam_method(methods[i].name) == methods[i].method);
    CHECK(cam_method_names()[i] == methods[i].name);
    CHECK(!methods[i].paper.empty());
    // pytorch-grad-cam: EigenCAM, ScoreCAM and FEM take no gradient (uses_gradients=False), and RandomCAM's
    // map does not depend on it; ScoreCAM and AblationCAM run extra forwards. FullGrad, ShapleyCAM and
    // FinerCAM (with its default base, GradCAM) take gradients.
    const std::set<std::string> gradient_free = {"eigencam", "scorecam", "fem", "randomcam", "ablationcam", "kpca_cam"};
    CHECK(methods[i].needs_gradients == (gradient_free.count(methods[i].name) == 0));
    CHECK(methods[i].extra_forwards == (methods[i].name == "scorecam" || methods[i].name == "ablationcam"));
  }
}

TEST_CASE("CAM errors name the problem", "[cam][models]") {
  const FloatArray input = golden_array("input_tensor.npy");
  Model model = load_model(test::model_path("vgg11.script.pt"), DeviceKind::kCpu);
  CamRequest request;
  request.layer = find_layer(model.tree(), "features.20", "vgg11");
  request.target.index = 1000;
  CHECK_THROWS_WITH(compute_cam(model, input, request), Catch::Matchers::Contains("--class 1000 is out of range") &&
                                                            Catch::Matchers::Contains("0 to 999"));
  request.target.index = 1;
  request.layer = find_layer(model.tree(), "classifier.0", "vgg11");
  try {
    compute_cam(model, input, request);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kData);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("no spatial layout"));
  }
  CHECK(parse_cam_method("gradcam++") == CamMethod::kGradCamPlusPlus);
  CHECK_THROWS_WITH(parse_cam_method("scorecam2"), Catch::Matchers::Contains("--method 'scorecam2'"));
}

TEST_CASE("FinerCAM's and FullGrad's settings that do not fit are usage errors", "[cam][models]") {
  Model model = load_model(test::model_path("tiny_cnn.script.pt"), DeviceKind::kCpu);
  const FloatArray input = test::load_npy_float32(test::golden_path("gradcam/input32.npy"));
  CamRequest request;
  request.layer = find_layer(model.tree(), "features.6", "tiny_cnn");
  request.method = CamMethod::kFinerCam;
  auto usage_error = [&](const CamRequest& r, const std::string& text, const FloatArray& x) {
    try {
      compute_cam(model, x, r);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kUsage);
      CHECK_THAT(e.what(), Catch::Matchers::Contains(text));
    }
  };
  CamRequest r = request;
  r.finer.comparisons = {1, 10};
  usage_error(r, "--finer-compare 10 is out of range: the ranks of the model's 10 classes are 0 to 9", input);
  r = request;
  r.finer.comparisons.clear();
  usage_error(r, "--finer-compare needs at least one rank", input);
  r = request;
  r.finer.base = CamMethod::kScoreCam;
  usage_error(r, "--finer-base scorecam: FinerCAM's base must be", input);
  r = request;
  r.target = parse_target("softmax:3");
  usage_error(r, "finercam compares class scores (--class K)", input);
  r = request;
  r.aug_smooth = true;
  usage_error(r, "finercam does not take --aug-smooth", input);
  // Another base: FinerCAM's score through LayerCAM's step; rank 0 alone compares the class with itself,
  // whose score (1 - alpha) y_c with alpha 0 is the logit's, so the map is LayerCAM's.
  r = request;
  r.finer.base = CamMethod::kLayerCam;
  r.finer.comparisons = {0};
  r.finer.alpha = 0;
  r.target.index = 3;
  CamRequest layer_cam = r;
  layer_cam.method = CamMethod::kLayerCam;
  CHECK(test::max_abs_diff(compute_cam(model, input, r).map, compute_cam(model, input, layer_cam).map) <= 1e-6);

  // FullGrad's eigen_smooth works at an eighth of the input's size.
  r = CamRequest{};
  r.method = CamMethod::kFullGrad;
  r.eigen_smooth = true;
  usage_error(r, "fullgrad's --eigen-smooth works at an eighth of the input's size; the input is 4 x 4",
              FloatArray{{1, 3, 4, 4}, std::vector<float>(3 * 4 * 4, 0.5f)});
}

// Every method, layer and model against plain-PyTorch computations of the papers' formulas on the same
// files (models/cam_reference.py via models/references.py): eager models loaded with the files'
// weights, the layer's own output (cloned in a forward hook) and its gradient (a tensor hook).
TEST_CASE("every CAM method equals its plain-PyTorch computation", "[cam][models]") {
  const FloatArray input = test::load_reference("photo.png.direct_bilinear.npy");
  struct Case {
    const char* model;
    const char* layer;
    std::optional<int> target;
  };
  // vgg11 features.18 is a Conv2d followed by ReLU(inplace=True): the map uses its own output.
  const Case cases[] = {{"vgg11", "features.20", 24}, {"vgg11", "features.18", 24}, {"resnet18", "layer4", 24},
                        {"resnet18", "layer3.1", std::nullopt}};
  for (const char* variant : {"script", "trace"}) {
    for (const Case& c : cases) {
      Model model = load_model(test::model_path(std::string(c.model) + "." + variant + ".pt"), DeviceKind::kCpu);
      // models/cam_reference.py's methods; ScoreCAM is tested on a small model below, and every method
      // against pytorch-grad-cam's own maps further down.
      for (const std::string method : {"gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "eigencam", "gradcamelementwise"}) {
        INFO(c.model << "." << variant << " " << c.layer << " " << method);
        CamRequest request;
        request.layer = find_layer(model.tree(), c.layer, c.model);
        request.target.index = c.target;
        request.method = parse_cam_method(method);
        const CamResult r = compute_cam(model, input, request);
        const std::string suffix = c.target ? "c" + std::to_string(*c.target) : std::string("top1");
        const FloatArray reference = test::load_reference(std::string("cam.") + c.model + "." + variant + "." + c.layer + "." +
                                                          method + "." + suffix + ".npy");
        CHECK(test::max_abs_diff(r.map, reference) <= 1e-5);
      }
    }
  }
}

TEST_CASE("ScoreCAM equals its plain-PyTorch computation", "[cam][models]") {
  const FloatArray input = test::load_reference("photo.png.direct_bilinear.npy");
  Model model = load_model(test::model_path("resnet18.script.pt"), DeviceKind::kCpu);
  CamRequest request;
  request.layer = find_layer(model.tree(), "layer4", "resnet18");
  request.target.index = 24;
  request.method = CamMethod::kScoreCam;
  const CamResult r = compute_cams(model, input, request, {24}, 64).at(0);
  CHECK(test::max_abs_diff(r.map, test::load_reference("cam.resnet18.script.layer4.scorecam.c24.npy")) <= 1e-5);
}

// --top-k: one forward, one backward per rank. Rank 1 is pytorch-grad-cam's top-1 map; the ranks are
// the classes PyTorch's logits rank highest, and each map is the one that class gives on its own.
TEST_CASE("top-k maps are the single-class maps of the k best classes", "[cam][models]") {
  const FloatArray input = golden_array("input_tensor.npy");
  const FloatArray logits = golden_array("vgg11_logits.npy");
  std::vector<int> order(logits.values.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return logits.values[static_cast<std::size_t>(a)] > logits.values[static_cast<std::size_t>(b)]; });
  Model model = load_model(test::model_path("vgg11.script.pt"), DeviceKind::kCpu);
  CamRequest request;
  request.layer = find_layer(model.tree(), "features.20", "vgg11");
  request.top_k = 3;
  const std::vector<CamResult> ranked = compute_cams(model, input, request, {});
  REQUIRE(ranked.size() == 3);
  CHECK(test::max_abs_diff(ranked[0].map, golden_array("vgg11_features-1_gradcam_top1.npy")) <= 1e-5);
  for (int r = 0; r < 3; ++r) {
    INFO("rank " << r + 1);
    CHECK(ranked[static_cast<std::size_t>(r)].target_class == order[static_cast<std::size_t>(r)]);
    CamRequest single = request;
    single.top_k = 0;
    single.target.index = order[static_cast<std::size_t>(r)];
    CHECK(test::max_abs_diff(ranked[static_cast<std::size_t>(r)].map, compute_cam(model, input, single).map) <= 1e-6);
  }

  // ScoreCAM reuses its masked forwards for every rank; a batch of two keeps images apart.
  Model tiny = load_model(test::model_path("tiny_cnn.script.pt"), DeviceKind::kCpu);
  FloatArray two = test::load_reference("photo.png.direct_bilinear.npy");
  two = FloatArray{{1, 3, 32, 32}, std::vector<float>(two.values.begin(), two.values.begin() + 3 * 32 * 32)};
  FloatArray batch{{2, 3, 32, 32}, two.values};
  for (float v : two.values) batch.values.push_back(-v);
  CamRequest score;
  score.layer = find_layer(tiny.tree(), "features.3", "tiny_cnn");
  score.method = CamMethod::kScoreCam;
  score.top_k = 2;
  const std::vector<CamResult> maps = compute_cams(tiny, batch, score, {}, 5);
  REQUIRE(maps.size() == 4);
  for (int i = 0; i < 2; ++i) {
    FloatArray one{{1, 3, 32, 32}, std::vector<float>(batch.values.begin() + i * 3 * 32 * 32, batch.values.begin() + (i + 1) * 3 * 32 * 32)};
    for (int r = 0; r < 2; ++r) {
      INFO("image " << i << " rank " << r + 1);
      const CamResult& got = maps[static_cast<std::size_t>(i * 2 + r)];
      CamRequest single = score;
      single.top_k = 0;
      single.target.index = got.target_class;
      CHECK(test::max_abs_diff(got.map, compute_cams(tiny, one, single, {}, 7).at(0).map) <= 1e-6);
    }
    CHECK(maps[static_cast<std::size_t>(i * 2)].target_class != maps[static_cast<std::size_t>(i * 2 + 1)].target_class);
  }
  request.top_k = 1001;
  CHECK_THROWS_WITH(compute_cams(model, input, request, {}), Catch::Matchers::Contains("--top-k 1001 is more than the model's 1000 classes"));
}

TEST_CASE("a layer the class score does not depend on has no gradient path", "[cam][models]") {
  Model model = load_model(test::model_path("probed.script.pt"), DeviceKind::kCpu);
  FloatArray input{{1, 3, 16, 16}, std::vector<float>(3 * 16 * 16, 0.5f)};
  CamRequest request;
  request.layer = find_layer(model.tree(), "probe", "probed");
  for (const CamMethod method : {CamMethod::kGradCam, CamMethod::kLayerCam}) {
    request.method = method;
    try {
      compute_cam(model, input, request);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kModel);
      CHECK_THAT(e.what(), Catch::Matchers::Contains("does not depend on layer 'probe' (no gradient path)"));
    }
  }
  // The layer the scores come from works, and EigenCAM needs no gradient at all.
  request.layer = find_layer(model.tree(), "features", "probed");
  CHECK(compute_cam(model, input, request).map.shape == std::vector<int64_t>{16, 16});
  request.layer = find_layer(model.tree(), "probe", "probed");
  request.method = CamMethod::kEigenCam;
  CHECK(compute_cam(model, input, request).map.shape == std::vector<int64_t>{16, 16});
}

// Every method, with and without pytorch-grad-cam's eigen_smooth and aug_smooth, against the maps
// pytorch-grad-cam itself returned for the same weights (scripts/make-gradcam-refs: its source, run in
// the sid root; tests/golden/gradcam/cases.json). The tiny ViT's cases need PyTorch 2.x's files.
TEST_CASE("every CAM method equals pytorch-grad-cam's own maps", "[cam][models]") {
  const nlohmann::json cases = nlohmann::json::parse(test::read_file(test::golden_path("gradcam/cases.json")));
  const FloatArray input = test::load_npy_float32(test::golden_path("gradcam/input32.npy"));
  std::set<std::string> methods;
  for (const auto& c : cases) {
    const std::string name = c["model"];
    if (name == "tiny_vit" && !CNNVIZ_TEST_MODERN_MODELS) continue;
    // Trained here, and PyTorch 2.x trains other weights: the reference is made from 1.13's file.
    if (name == "shapes_cnn" && CNNVIZ_TEST_MODERN_MODELS) continue;
    std::vector<std::string> files = {".script.pt", ".trace.pt"};
    if (CNNVIZ_TEST_MODERN_MODELS) files.push_back(".pt2");
    for (const std::string& file : files) {
      INFO(name << file << " " << c["method"] << " " << c.value("target", "class") << " " << c["given_class"] << " eigen_smooth " << c["eigen_smooth"] << " aug_smooth "
                << c["aug_smooth"]);
      Model model = load_model(test::model_path(name + file), DeviceKind::kCpu);
      CamRequest request;
      request.layer = find_layer(model.tree(), c["layer"].get<std::string>(), name);
      request.method = parse_cam_method(c["method"].get<std::string>());
      request.reshape = parse_reshape(c["reshape"].get<std::string>());
      request.eigen_smooth = c["eigen_smooth"].get<bool>();
      request.aug_smooth = c["aug_smooth"].get<bool>();
      // The later cases' settings, written only where they are not the defaults (the target: "softmax").
      if (c.contains("target")) request.target = parse_target(c["target"].get<std::string>());
      if (!c["given_class"].is_null()) request.target.index = c["given_class"].get<int>();
      if (c.contains("alpha")) request.finer.alpha = c["alpha"].get<double>();
      if (c.contains("comparison_categories")) request.finer.comparisons = c["comparison_categories"].get<std::vector<int>>();
      const CamResult got = compute_cam(model, input, request);
      const FloatArray logits = test::load_npy_float32(test::golden_path("gradcam/" + name + ".logits.npy"));
      REQUIRE(got.scores.size() == logits.values.size());
      for (std::size_t i = 0; i < logits.values.size(); ++i) REQUIRE(std::fabs(got.scores[i] - logits.values[i]) <= 1e-5);
      CHECK(got.target_class == c["class"].get<int>());
      // KPCA-CAM: scikit-learn builds the kernel and solves it with LAPACK's ssyevr in float32, LibTorch
      // with syevd in float32; the maps agree to 1.4e-5 (measured), the others to 1e-5.
      const double tolerance = c["method"] == "kpca_cam" ? 5e-5 : 1e-5;
      CHECK(test::max_abs_diff(got.map, test::load_npy_float32(test::golden_path("gradcam/" + c["map"].get<std::string>()))) <= tolerance);
      methods.insert(c["method"].get<std::string>());
      if (!c["metrics"].is_null()) {
        // pytorch-grad-cam's CamMultImageConfidenceChange, DropInConfidence and IncreaseInConfidence of the map.
        const CamConfidence m = cam_confidence(model, input, {got}, request).at(0);
        CHECK(std::fabs(m.change - c["metrics"]["change"].get<float>()) <= 1e-5);
        CHECK(std::fabs(m.drop - c["metrics"]["drop"].get<float>()) <= 1e-5);
        CHECK(m.increase == c["metrics"]["increase"].get<float>());
        // ROAD, on pytorch-grad-cam's own map (a threshold sits between two of its values, so a map
        // equal to 1e-5 could still remove another pixel), with its seed (torch.manual_seed(0)) before
        // each metric: the imputation and the noise are the same, so the figures agree to the model's
        // float32 rounding (5e-9 measured; one ulp of a logit near 2.3 is 2.4e-7).
        CamResult theirs = got;
        theirs.map = test::load_npy_float32(test::golden_path("gradcam/" + c["map"].get<std::string>()));
        const std::vector<std::string> road = {"road-most", "road-least", "road"};
        for (const std::string suffix : {"", "@25,50,75"}) {
          RoadOptions options;
          if (!std::string(suffix).empty()) options.percentiles = {25, 50, 75};
          const CamConfidence r = cam_confidence(model, input, {theirs}, request, road, options).at(0);
          INFO("road percentiles " << suffix);
          CHECK(std::fabs(r.road_most - c["metrics"]["road-most" + std::string(suffix)].get<float>()) <= 1e-6);
          CHECK(std::fabs(r.road_least - c["metrics"]["road-least" + std::string(suffix)].get<float>()) <= 1e-6);
          CHECK(std::fabs(r.road - c["metrics"]["road" + std::string(suffix)].get<float>()) <= 1e-6);
        }
      }
    }
  }
  // Every method of the table has a case.
  for (const std::string& name : cam_method_names()) CHECK(methods.count(name) == 1);
}

// ROAD's pixel removal (numpy's percentile, ties removed) and its linear imputation, without the noise,
// against pytorch-grad-cam's RemoveMostRelevantFirst / RemoveLeastRelevantFirst with
// NoisyLinearImputer(noise=0) on case 0's map (SciPy's spsolve; scripts/make-gradcam-refs).
TEST_CASE("ROAD's removal and linear imputation equal pytorch-grad-cam's", "[cam]") {
  const FloatArray input = test::load_npy_float32(test::golden_path("gradcam/input32.npy"));
  const FloatArray image{{3, 32, 32}, input.values};
  const FloatArray map = test::load_npy_float32(test::golden_path("gradcam/case0.npy"));
  for (const auto& [file, percentile, most_first] : {std::tuple<std::string, double, bool>{"road_most50.npy", 50, true}, {"road_least30.npy", 30, false}}) {
    INFO(file);
    const FloatArray expected = test::load_npy_float32(test::golden_path("gradcam/" + file));
    const std::vector<uint8_t> removed = road_removed_pixels(map, percentile, most_first);
    // The removed pixels are the ones that changed (none of them is imputed to exactly its old value).
    std::size_t count = 0;
    for (std::size_t i = 0; i < removed.size(); ++i) {
      const bool changed = expected.values[i] != input.values[i] || expected.values[1024 + i] != input.values[1024 + i];
      CHECK(static_cast<bool>(removed[i]) == changed);
      count += removed[i];
    }
    CHECK(count > 200);
    CHECK(test::max_abs_diff(impute_linear(image, removed), expected) <= 1e-6);
  }
  // numpy's linear percentile in float32, from the upper value when the weight is at least 0.5.
  CHECK(numpy_percentile({0.0f, 1.0f}, 50) == 0.5f);
  CHECK(numpy_percentile({3.0f, 1.0f, 2.0f, 4.0f}, 100) == 4.0f);
  CHECK(numpy_percentile({3.0f, 1.0f, 2.0f, 4.0f}, 0) == 1.0f);
  // Every pixel removed (a constant map): no data, so 0 as SciPy gives.
  const FloatArray flat{{32, 32}, std::vector<float>(1024, 0.0f)};
  const FloatArray all = impute_linear(image, road_removed_pixels(flat, 80, true));
  CHECK(std::all_of(all.values.begin(), all.values.end(), [](float v) { return v == 0; }));
}
