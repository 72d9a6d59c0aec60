// `cnnviz saliency` as a user runs it.

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_checks.h"
#include "cnnviz/image.h"
#include "npy_reference.h"
#include "test_env.h"

using Catch::Matchers::Contains;
using cnnviz::test::check_error;
using cnnviz::test::model_path;
using cnnviz::test::run_cnnviz;
using cnnviz::test::TempDir;

// The photo resized straight to 224 x 224 is the input PyTorch's references were computed on.
TEST_CASE("cli saliency: PyTorch's gradient and map from one command", "[cli][saliency][models]") {
  TempDir dir;
  const std::string photo = model_path("references/photo.png");
  auto r = run_cnnviz({"saliency", model_path("vgg11.trace.pt"), photo, "--class", "24", "-o", dir.file("o.png"), "--heatmap",
                       dir.file("h.png"), "--raw", dir.file("map.npy"), "--gradient", dir.file("g.npy")});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("vanilla, class 24 (great grey owl)"));
  const cnnviz::FloatArray gradient = cnnviz::test::load_reference("saliency.vgg11.trace.vanilla.c24.grad.npy");
  CHECK(cnnviz::test::max_abs_diff(cnnviz::test::load_npy_float32(dir.file("g.npy")), gradient) <= 1e-4 * cnnviz::test::abs_max(gradient));
  CHECK(cnnviz::test::max_abs_diff(cnnviz::test::load_npy_float32(dir.file("map.npy")), cnnviz::test::load_reference("saliency.vgg11.trace.vanilla.c24.map.npy")) <=
        1e-4);
  const cnnviz::Image overlay = cnnviz::load_image(dir.file("o.png"));
  CHECK(overlay.width == 224);
  CHECK(overlay.height == 224);
  CHECK(overlay.channels == 3);
  CHECK(cnnviz::load_image(dir.file("h.png")).width == 224);

  // FlashTorch's "max gradients" panel, as JSON reports it.
  r = run_cnnviz({"saliency", model_path("vgg11.script.pt"), photo, "--class", "24", "--reduce", "max", "--scale", "standardize",
                  "--raw", dir.file("ft.npy"), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  CHECK(cnnviz::test::max_abs_diff(cnnviz::test::load_npy_float32(dir.file("ft.npy")), cnnviz::test::load_reference("saliency.vgg11.script.vanilla.c24.flashtorch.npy")) <=
        1e-4);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["class"] == 24);
  CHECK(doc["label"] == "great grey owl");
  CHECK(doc["predictions"].size() == 5);
  CHECK(doc["gradient"]["shape"] == nlohmann::json::array({3, 224, 224}));
  CHECK(doc["outputs"] == nlohmann::json::array({dir.file("ft.npy")}));

  // SmoothGrad with the references' settings.
  r = run_cnnviz({"saliency", model_path("resnet18.script.pt"), photo, "--class", "24", "--method", "smoothgrad", "--samples", "6",
                  "--noise", "0.2", "--seed", "7", "--batch-size", "6", "--gradient", dir.file("sg.npy")});
  REQUIRE(r.exit_code == 0);
  const cnnviz::FloatArray smooth = cnnviz::test::load_reference("saliency.resnet18.script.smoothgrad.c24.grad.npy");
  CHECK(cnnviz::test::max_abs_diff(cnnviz::test::load_npy_float32(dir.file("sg.npy")), smooth) <= 1e-4 * cnnviz::test::abs_max(smooth));
}

TEST_CASE("cli saliency: usage errors write nothing", "[cli][saliency][models]") {
  TempDir dir;
  const std::string photo = model_path("references/photo.png");
  const std::string tiny = model_path("tiny_cnn.script.pt");
  check_error({"saliency", tiny, photo, "--input", "1,3,32,32"}, 2, {"nothing to write"});
  check_error({"saliency", tiny, photo, "--input", "1,3,32,32", "-o", "-", "--raw", "-"}, 2, {"only one of"});
  check_error({"saliency", tiny, photo, "--input", "1,3,32,32", "--method", "deconvnet", "-o", dir.file("o.png")}, 2,
              {"--method 'deconvnet'", "vanilla, smoothgrad, gradxinput, guided"});
  check_error({"saliency", tiny, photo, "--input", "1,3,32,32", "--class", "10", "-o", dir.file("o.png")}, 2, {"--class 10 is out of range"});
  check_error({"saliency", tiny, photo, "--input", "1,3,32,32", "--samples", "0", "-o", dir.file("o.png")}, 2, {"--samples"});
  CHECK(std::filesystem::is_empty(dir.path()));
}
