// capture/model_input: an image made into a model input behind one memory guard.

#include <catch2/catch.hpp>

#include <tuple>

#include "cnnviz/cam.h"
#include "cnnviz/error.h"
#include "cnnviz/model_input.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

namespace {

Image gradient_image(int width, int height) {
  Image image{width, height, 3, {}};
  image.pixels.resize(static_cast<std::size_t>(width) * height * 3);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>((i * 7) % 256);
  return image;
}

}  // namespace

TEST_CASE("prepare_image gives what the model sees and its input, as the preprocessing units do", "[model_input]") {
  const Image image = gradient_image(300, 200);
  PreprocessOptions pre;
  pre.resize = 256;
  pre.width = pre.height = 224;
  const ModelImage prepared = prepare_image(image, pre);
  CHECK(prepared.seen.width == 224);
  CHECK(prepared.seen.height == 224);
  CHECK(prepared.seen.pixels == resize_for_model(image, pre).pixels);
  CHECK(prepared.input.shape == std::vector<int64_t>{1, 3, 224, 224});
  CHECK(prepared.input.values == preprocess_image(image, pre).values);
}

TEST_CASE("prepare_image refuses preprocessing above the memory limit, naming the image", "[model_input]") {
  const Image image = gradient_image(4000, 3000);
  PreprocessOptions pre;
  pre.width = pre.height = 8000;
  try {
    prepare_image(image, pre, 10'000'000, "big.png");
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kResource);
    CHECK_THAT(e.what(), Contains("preprocessing 'big.png'") && Contains("--max-memory"));
  }
}

TEST_CASE("check_image_forward: one dry run whose calls pick the CAM layer a real forward picks", "[model_input][models]") {
  const Image image = gradient_image(224, 224);
  // Expected: torch-cam's rule, as tests/cli_gradcam_test.cc checks it from the command.
  for (const auto& [file, expected, side] : {std::tuple<const char*, const char*, int64_t>{"resnet18.script.pt", "layer4", 224},
                                             {"resnet18.trace.pt", "layer4", 224}, {"tiny_cnn.script.pt", "features.7", 32}}) {
    INFO(file);
    PreprocessOptions pre;
    pre.width = pre.height = side;
    Model model = load_model(test::model_path(file), DeviceKind::kCpu);
    const MemoryCheck check = check_image_forward(model, image, pre, {int64_t{4} << 30, 1, 0});
    REQUIRE_FALSE(check.calls.empty());
    CHECK(check.estimated_bytes > 3 * side * side * 4);
    const FloatArray input = prepare_image(image, pre).input;
    const int from_dry_run = auto_cam_layer(model, input, check.calls);
    CHECK(model.tree().nodes[static_cast<std::size_t>(from_dry_run)].path == expected);
    CHECK(auto_cam_layer(model, input) == from_dry_run);
  }
}

TEST_CASE("check_image_forward refuses a forward above the limit and checks nothing without one", "[model_input][models]") {
  Model model = load_model(test::model_path("resnet18.script.pt"), DeviceKind::kCpu);
  const Image image = gradient_image(64, 64);
  PreprocessOptions pre;
  pre.width = pre.height = 1024;
  try {
    check_image_forward(model, image, pre, {100'000'000, 4, 0});
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kResource);
    CHECK_THAT(e.what(), Contains("input 4,3,1024,1024 with its preprocessing"));
  }
  const MemoryCheck none = check_image_forward(model, image, pre, {0, 4, 0});
  CHECK(none.calls.empty());
  CHECK(none.estimated_bytes == 0);
}
