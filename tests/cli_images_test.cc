// `cnnviz layers`, `kernels` and `features` as a user runs them: outputs, files and exit codes.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
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

namespace {

std::string photo() { return model_path("references/photo.png"); }

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("cli layers: paths and conv settings and output shapes", "[cli][models]") {
  auto r = run_cnnviz({"layers", model_path("resnet18.trace.pt"), "--input", "1,3,224,224"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Contains("conv1") && Contains("layer1.0.conv1") && Contains("[1, 64, 112, 112]"));
  // Traced files keep no stride or padding attributes: they come from the graph.
  CHECK_THAT(r.out, Contains("7x7      2x2      3x3      1"));
  r = run_cnnviz({"layers", model_path("edge.script.pt"), "--input", "1,3,8,8", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "cnnviz.layers");
  CHECK(doc["schema_version"] == 1);
  bool saw_unused = false;
  for (const auto& l : doc["layers"]) {
    if (l["path"] == "unused") {
      saw_unused = true;
      CHECK(l["ran"] == false);
    }
  }
  CHECK(saw_unused);
  check_error({"layers", model_path("bad/text.pt")}, 4, {"text.pt"});
}

TEST_CASE("cli kernels: the weights exactly and a PNG grid of the right size", "[cli][models]") {
  TempDir dir;
  // --format npy writes the weights as stored; PyTorch's copy of the same tensor is the reference.
  auto r = run_cnnviz({"kernels", model_path("vgg11.trace.pt"), "--layer", "features.3", "--format", "npy", "-o", dir.file("w.npy")});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == dir.file("w.npy") + "\n");
  const cnnviz::NpyArray ours = cnnviz::decode_npy(cnnviz::test::read_file(dir.file("w.npy")));
  const cnnviz::FloatArray theirs = cnnviz::test::load_reference("vgg11.trace.features.3.weight.npy");
  CHECK(ours.shape == theirs.shape);
  CHECK(ours.data == std::string(reinterpret_cast<const char*>(theirs.values.data()), theirs.values.size() * 4));

  // The seed's picture: filter 0 of features.3, its 64 input channels as 8 x 8 kernels of 3 x 3.
  r = run_cnnviz({"kernels", model_path("vgg11.script.pt"), "--layer", "features.3", "--filters", "0", "-o", dir.file("k.png")});
  REQUIRE(r.exit_code == 0);
  const cnnviz::Image k = cnnviz::load_image(dir.file("k.png"));
  CHECK(k.width == 8 * 3 * 8 + 9 * 6);  // 8 tiles of 3 x scale 8, 9 gaps of 6
  CHECK(k.height == k.width);
  // Same input, same bytes.
  REQUIRE(run_cnnviz({"kernels", model_path("vgg11.script.pt"), "--layer", "features.3", "--filters", "0", "-o", dir.file("k2.png")}).exit_code == 0);
  CHECK(cnnviz::test::read_file(dir.file("k.png")) == cnnviz::test::read_file(dir.file("k2.png")));
  // A first layer with three input channels: colour tiles, one per filter.
  REQUIRE(run_cnnviz({"kernels", model_path("vgg11.script.pt"), "--layer", "features.0", "--filters", "0-3", "-o", dir.file("c.png"), "--pad", "1"}).exit_code == 0);
  CHECK(cnnviz::load_image(dir.file("c.png")).width == 2 * 24 + 3);
  // ConvTranspose2d weights are [in, out, kh, kw]: its filters are the 512 output channels of 1024 inputs.
  REQUIRE(run_cnnviz({"kernels", model_path("unet.trace.pt"), "--layer", "up_conv_1", "--filters", "510-511", "--channels",
                      "0-3", "-o", dir.file("up.png")}).exit_code == 0);
  CHECK(cnnviz::load_image(dir.file("up.png")).width == 4 * 2 * 12 + 5 * 6);
  check_error({"kernels", model_path("unet.trace.pt"), "--layer", "up_conv_1", "--filters", "512", "-o", dir.file("x.png")}, 2,
              {"0 to 511"});
  // -o - writes the PNG itself to stdout.
  r = run_cnnviz({"kernels", model_path("tiny_cnn.script.pt"), "--layer", "features.3", "-o", "-"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("\x89PNG", 0) == 0);

  check_error({"kernels", model_path("vgg11.script.pt"), "--layer", "features.1", "-o", dir.file("x.png")}, 4,
              {"is a ReLU, not a convolution", "features.0"});
  check_error({"kernels", model_path("vgg11.script.pt"), "--layer", "feature.3", "-o", dir.file("x.png")}, 4,
              {"has no layer 'feature.3'", "did you mean 'features.3'?"});
  check_error({"kernels", model_path("vgg11.script.pt"), "--layer", "features.3", "--filters", "0-200", "-o", dir.file("x.png")}, 2,
              {"--filters '0-200'", "0 to 127"});
  check_error({"kernels", model_path("vgg11.script.pt"), "--layer", "features.3", "--colormap", "rainbow", "-o", dir.file("x.png")}, 2,
              {"--colormap 'rainbow'"});
  CHECK(files_in(dir.path()) == std::vector<std::string>{"c.png", "k.png", "k2.png", "up.png", "w.npy"});
}

TEST_CASE("cli features: the module output as it returned and grids and every conv layer", "[cli][models]") {
  TempDir dir;
  // resnet18's bn1 is followed by an in-place ReLU: the saved map must still be the BatchNorm output.
  auto r = run_cnnviz({"features", model_path("resnet18.script.pt"), photo(), "--layer", "layer1.0.bn1", "--format", "npy", "-o", dir.file("bn1.npy")});
  REQUIRE(r.exit_code == 0);
  const cnnviz::NpyArray ours = cnnviz::decode_npy(cnnviz::test::read_file(dir.file("bn1.npy")));
  const cnnviz::FloatArray theirs = cnnviz::test::load_reference("resnet18.script.layer1.0.bn1.npy");
  REQUIRE(ours.shape == theirs.shape);
  // The CLI preprocesses the image itself, as exactly as torchvision does (preprocess_test), so the
  // activations agree up to float rounding.
  std::vector<float> values(theirs.values.size());
  std::memcpy(values.data(), ours.data.data(), ours.data.size());
  float worst = 0;
  for (std::size_t i = 0; i < values.size(); ++i) worst = std::max(worst, std::fabs(values[i] - theirs.values[i]));
  CHECK(worst <= 1e-5f);
  bool negative = false;
  for (float v : values) negative = negative || v < 0;
  CHECK(negative);  // a post-ReLU capture would have none

  // The seed's picture: VGG16 features.0, the first 16 channels.
  r = run_cnnviz({"features", model_path("vgg16.trace.pt"), photo(), "--layer", "features.0", "-o", dir.file("f.png")});
  REQUIRE(r.exit_code == 0);
  const cnnviz::Image f = cnnviz::load_image(dir.file("f.png"));
  CHECK(f.width == 4 * 224 + 5);
  REQUIRE(run_cnnviz({"features", model_path("vgg16.trace.pt"), photo(), "--layer", "features.0", "--top", "3", "--cols", "3",
                      "--colormap", "viridis", "-o", dir.file("top.png")}).exit_code == 0);
  CHECK(cnnviz::load_image(dir.file("top.png")).width == 3 * 224 + 4);

  // One grid per convolution layer from one forward pass.
  const std::string all = dir.file("all");
  std::filesystem::create_directory(all);
  r = run_cnnviz({"features", model_path("tiny_cnn.script.pt"), photo(), "--input", "1,3,32,32", "--all-layers", all});
  REQUIRE(r.exit_code == 0);
  CHECK(files_in(all) == std::vector<std::string>{"features.0.png", "features.3.png", "features.6.png"});
  CHECK(cnnviz::test::count_lines(r.out) == 3);
}

TEST_CASE("cli features: bad layers and images and outputs", "[cli][models]") {
  TempDir dir;
  const std::string out = dir.file("x.png");
  check_error({"features", model_path("edge.script.pt"), photo(), "--input", "1,3,8,8", "--layer", "unused", "-o", out}, 4,
              {"layer 'unused'", "did not run for this input"});
  check_error({"features", model_path("vgg16.script.pt"), photo(), "--layer", "features.0", "--channels", "60-70", "-o", out}, 2,
              {"--channels '60-70'", "0 to 63"});
  check_error({"features", model_path("vgg16.script.pt"), photo(), "--layer", "classifier.6", "-o", out}, 5,
              {"not a feature map"});
  check_error({"features", model_path("tiny_cnn.script.pt"), "/nonexistent.png", "--layer", "features.0", "-o", out}, 3,
              {"/nonexistent.png"});
  check_error({"features", model_path("tiny_cnn.script.pt"), model_path("bad/text.pt"), "--layer", "features.0", "-o", out}, 5,
              {"text.pt", "not a PNG or JPEG"});
  const std::string data = std::string(CNNVIZ_SOURCE_DIR) + "/tests/data/images/";
  check_error({"features", model_path("tiny_cnn.script.pt"), data + "huge_header.png", "--layer", "features.0", "-o", out}, 7,
              {"huge_header.png", "89478485"});
  check_error({"features", model_path("tiny_cnn.script.pt"), data + "cmyk.jpg", "--layer", "features.0", "-o", out}, 5,
              {"CMYK"});
  check_error({"features", model_path("tiny_cnn.script.pt"), photo(), "--layer", "features.0", "-o", dir.file("missing/x.png")}, 9,
              {"does not exist"});
  check_error({"features", model_path("tiny_cnn.script.pt"), photo(), "--all-layers", dir.file("missing")}, 9,
              {"is not a directory"});
  check_error({"features", model_path("tiny_cnn.script.pt"), photo(), "--input", "1,5,32,32", "--layer", "features.0", "-o", out}, 2,
              {"--input '1,5,32,32'"});
  // A failed run never leaves an output or a temporary file behind, and never replaces an old output.
  { std::ofstream(out) << "old"; }
  check_error({"features", model_path("tiny_cnn.script.pt"), photo(), "--layer", "nope", "-o", out}, 4, {"'nope'"});
  CHECK(cnnviz::test::read_file(out) == "old");
  CHECK(files_in(dir.path()) == std::vector<std::string>{"x.png"});
}
