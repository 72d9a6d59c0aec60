// cnnviz's image preprocessing against torchvision's PIL pipeline on the same files
// (models/references.py computes the references with python3-torchvision).

#include <catch2/catch.hpp>

#include <cmath>

#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/preprocess.h"
#include "npy_reference.h"

using namespace cnnviz;

namespace {

struct Case {
  const char* pipeline;
  PreprocessOptions options;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  PreprocessOptions o;
  c.push_back({"direct_bilinear", o});
  o.interpolation = Interpolation::kNearest;
  c.push_back({"direct_nearest", o});
  o.interpolation = Interpolation::kBicubic;
  c.push_back({"direct_bicubic", o});
  o = PreprocessOptions{};
  o.resize = 256;
  c.push_back({"resize256_crop224", o});
  o = PreprocessOptions{};
  o.height = 300;
  o.width = 400;
  c.push_back({"upscale_400x300", o});
  o = PreprocessOptions{};
  o.channels = 1;
  o.height = o.width = 32;
  o.normalize = false;
  c.push_back({"gray32_raw", o});
  o = PreprocessOptions{};
  o.height = o.width = 64;
  c.push_back({"rgb64", o});
  return c;
}

}  // namespace

// Tolerance: cnnviz resamples exactly as Pillow does, so the 8-bit pixels are identical; the only
// difference left is float rounding in ToTensor/Normalize, below 1e-6.
TEST_CASE("preprocessing equals torchvision's PIL pipeline", "[image][models]") {
  for (const char* image_name : {"photo.png", "photo.jpg", "gray.png"}) {
    const Image image = load_image(test::model_path(std::string("references/") + image_name));
    for (const Case& c : cases()) {
      INFO(image_name << " " << c.pipeline);
      const FloatArray ours = preprocess_image(image, c.options);
      const FloatArray theirs = test::load_reference(std::string(image_name) + "." + c.pipeline + ".npy");
      REQUIRE(ours.shape == theirs.shape);
      CHECK(test::max_abs_diff(ours, theirs) <= 1e-6);
    }
  }
}

TEST_CASE("preprocessing refuses a crop larger than the resized image", "[image]") {
  Image image{40, 20, 3, std::vector<uint8_t>(40 * 20 * 3, 100)};
  PreprocessOptions o;
  o.resize = 16;
  o.height = o.width = 32;
  CHECK_THROWS_AS(preprocess_image(image, o), Error);
  CHECK(parse_interpolation("bicubic") == Interpolation::kBicubic);
  CHECK_THROWS_WITH(parse_interpolation("lanczos"), Catch::Matchers::Contains("use one of bilinear, bicubic, nearest"));
}
