#include <catch2/catch.hpp>

#include "cnnviz/error.h"
#include "cnnviz/feature_grid.h"

using namespace cnnviz;

TEST_CASE("channels rank by mean activation", "[features]") {
  // [1, 3, 1, 2]: means 1.5, -1, 1.5
  const FloatArray a{{1, 3, 1, 2}, {1, 2, -1, -1, 3, 0}};
  CHECK(feature_channels(a) == 3);
  CHECK(top_channels(a, 2) == std::vector<int>{0, 2});
  CHECK(top_channels(a, 10) == std::vector<int>{0, 2, 1});
}

TEST_CASE("each channel is min-max normalised on its own", "[features]") {
  const FloatArray a{{1, 2, 1, 3}, {-5, 0, 5, 7, 7, 7}};
  FeatureGridOptions o;
  o.grid.pad = 0;
  o.grid.cols = 1;
  const Image g = render_feature_grid(a, o);
  REQUIRE(g.width == 3);
  REQUIRE(g.height == 2);
  auto gray = [&](int x, int y) { return g.pixels[(static_cast<std::size_t>(y) * 3 + x) * 3]; };
  CHECK(gray(0, 0) == colormap_color(Colormap::kGray, colormap_index(0.0f))[0]);
  CHECK(gray(1, 0) == colormap_color(Colormap::kGray, colormap_index(0.5f))[0]);
  CHECK(gray(2, 0) == colormap_color(Colormap::kGray, colormap_index(1.0f))[0]);
  CHECK(gray(1, 1) == colormap_color(Colormap::kGray, 0)[0]);  // a constant channel is drawn at 0
}

TEST_CASE("the first 16 channels by default and errors for other shapes", "[features]") {
  const FloatArray a{{1, 20, 2, 2}, std::vector<float>(80, 1.0f)};
  FeatureGridOptions o;
  o.grid.pad = 0;
  const Image g = render_feature_grid(a, o);
  CHECK(g.width == 4 * 2);
  CHECK(g.height == 4 * 2);
  o.channels = {25};
  CHECK_THROWS_AS(render_feature_grid(a, o), Error);
  try {
    render_feature_grid(FloatArray{{1, 1000}, std::vector<float>(1000)}, FeatureGridOptions{});
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kData);
  }
}
