// The CAM family against pytorch-grad-cam 1.5's own output (tests/golden/cam: GradCAM on VGG11
// features[-1] = features.20, the file made by torch.manual_seed(0); vgg11(weights=None), as
// models/export_models.py does).

#include <catch2/catch.hpp>

#include <cstring>

#include "cnnviz/cam.h"
#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/npy.h"
#include "cnnviz/overlay.h"
#include "npy_reference.h"

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
    request.target_class = 24;
    const CamResult c24 = compute_cam(model, input, request);
    REQUIRE(c24.scores.size() == logits.values.size());
    for (std::size_t i = 0; i < logits.values.size(); ++i) CHECK(std::fabs(c24.scores[i] - logits.values[i]) <= 1e-5);
    CHECK(test::max_abs_diff(c24.map, golden_array("vgg11_features-1_gradcam_c24.npy")) <= 1e-5);

    // The overlay, with OpenCV's JET and show_cam_on_image's truncations: within 2 levels.
    const Image image = load_image(test::golden_path("cam/input.png"));
    const Image ours = overlay_heatmap(image, c24.map);
    const Image theirs = load_image(test::golden_path("cam/vgg11_features-1_gradcam_c24.png"));
    REQUIRE(ours.pixels.size() == theirs.pixels.size());
    int worst = 0;
    for (std::size_t i = 0; i < ours.pixels.size(); ++i) worst = std::max(worst, std::abs(ours.pixels[i] - theirs.pixels[i]));
    CHECK(worst <= 2);

    request.target_class.reset();  // top-1
    const CamResult top1 = compute_cam(model, input, request);
    CHECK(top1.target_class == 30);
    CHECK(test::max_abs_diff(top1.map, golden_array("vgg11_features-1_gradcam_top1.npy")) <= 1e-5);
  }
}

TEST_CASE("CAM errors name the problem", "[cam][models]") {
  const FloatArray input = golden_array("input_tensor.npy");
  Model model = load_model(test::model_path("vgg11.script.pt"), DeviceKind::kCpu);
  CamRequest request;
  request.layer = find_layer(model.tree(), "features.20", "vgg11");
  request.target_class = 1000;
  CHECK_THROWS_WITH(compute_cam(model, input, request), Catch::Matchers::Contains("--class 1000 is out of range") &&
                                                            Catch::Matchers::Contains("0 to 999"));
  request.target_class = 1;
  request.layer = find_layer(model.tree(), "classifier.0", "vgg11");
  try {
    compute_cam(model, input, request);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kData);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("no spatial dimensions"));
  }
  CHECK(parse_cam_method("gradcam++") == CamMethod::kGradCamPlusPlus);
  CHECK_THROWS_WITH(parse_cam_method("scorecam2"), Catch::Matchers::Contains("--method 'scorecam2'"));
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
      for (const std::string& method : cam_method_names()) {
        if (method == "scorecam") continue;  // tested on a small model below
        INFO(c.model << "." << variant << " " << c.layer << " " << method);
        CamRequest request;
        request.layer = find_layer(model.tree(), c.layer, c.model);
        request.target_class = c.target;
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
  request.target_class = 24;
  request.method = CamMethod::kScoreCam;
  const CamResult r = compute_cams(model, input, request, {24}, 64).at(0);
  CHECK(test::max_abs_diff(r.map, test::load_reference("cam.resnet18.script.layer4.scorecam.c24.npy")) <= 1e-5);
}
