#include <catch2/catch.hpp>
#include <array>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/grid.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

namespace {

// A w x h tile whose every pixel encodes (tile, x, y), so placement can be checked pixel by pixel.
Image tile(int index, int w, int h, int channels) {
  Image image;
  image.width = w;
  image.height = h;
  image.channels = channels;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < channels; ++c) image.pixels.push_back(static_cast<uint8_t>(index * 50 + y * 10 + x + c * 3));
    }
  }
  return image;
}

std::vector<Image> tiles(int n, int w = 3, int h = 2, int channels = 3) {
  std::vector<Image> out;
  for (int i = 0; i < n; ++i) out.push_back(tile(i, w, h, channels));
  return out;
}

std::array<uint8_t, 3> pixel(const Image& image, int x, int y) {
  const std::size_t at = (static_cast<std::size_t>(y) * image.width + x) * 3;
  return {image.pixels[at], image.pixels[at + 1], image.pixels[at + 2]};
}

GridOptions options(int cols, int pad, int scale) {
  GridOptions o;
  o.cols = cols;
  o.pad = pad;
  o.scale = scale;
  return o;
}

bool refused_as_usage(const std::vector<Image>& in, const GridOptions& o) {
  try {
    make_grid(in, o);
  } catch (const Error& e) {
    return e.kind() == ErrorKind::kUsage;
  }
  return false;
}

}  // namespace

TEST_CASE("grid geometry follows the documented formula", "[image]") {
  struct Case {
    int n, cols, pad, scale, width, height;
  };
  // width = cols * w * scale + (cols + 1) * pad, with w = 3, h = 2 and rows = ceil(n / cols).
  for (const Case c : {Case{1, 0, 1, 1, 5, 4}, Case{3, 0, 1, 1, 9, 7}, Case{4, 0, 1, 1, 9, 7}, Case{5, 0, 1, 1, 13, 7},
                       Case{5, 2, 1, 1, 9, 10}, Case{3, 2, 0, 1, 6, 4}, Case{4, 0, 2, 3, 24, 18}, Case{1, 0, 0, 2, 6, 4},
                       Case{2, 4, 1, 1, 17, 4}}) {
    INFO(c.n << " tiles, cols " << c.cols << ", pad " << c.pad << ", scale " << c.scale);
    const Image grid = make_grid(tiles(c.n), options(c.cols, c.pad, c.scale));
    CHECK(grid.width == c.width);
    CHECK(grid.height == c.height);
    CHECK(grid.channels == 3);
    CHECK(grid.pixels.size() == static_cast<std::size_t>(c.width * c.height * 3));
  }
}

TEST_CASE("grid tiles are placed row-major and scaled by pixel repetition", "[image]") {
  const int w = 3, h = 2, pad = 1, scale = 2, cols = 2;
  GridOptions o = options(cols, pad, scale);
  o.background = {9, 8, 7};
  const std::vector<Image> in = tiles(3, w, h, 3);
  const Image grid = make_grid(in, o);
  REQUIRE(grid.width == cols * w * scale + (cols + 1) * pad);
  for (int t = 0; t < 3; ++t) {
    const int x0 = pad + (t % cols) * (w * scale + pad), y0 = pad + (t / cols) * (h * scale + pad);
    for (int y = 0; y < h * scale; ++y) {
      for (int x = 0; x < w * scale; ++x) {
        const std::size_t src = (static_cast<std::size_t>(y / scale) * w + static_cast<std::size_t>(x / scale)) * 3;
        const std::array<uint8_t, 3> want = {in[t].pixels[src], in[t].pixels[src + 1], in[t].pixels[src + 2]};
        INFO("tile " << t << " at " << x << "," << y);
        CHECK(pixel(grid, x0 + x, y0 + y) == want);
      }
    }
  }
  const std::array<uint8_t, 3> bg = {9, 8, 7};
  CHECK(pixel(grid, 0, 0) == bg);                             // border
  CHECK(pixel(grid, pad + w * scale, pad) == bg);             // gap between columns
  CHECK(pixel(grid, pad, pad + h * scale) == bg);             // gap between rows
  CHECK(pixel(grid, grid.width - 2, grid.height - 2) == bg);  // the empty fourth cell
  CHECK(pixel(grid, grid.width - 1, grid.height - 1) == bg);
}

TEST_CASE("gray grid tiles become RGB", "[image]") {
  const Image grid = make_grid(tiles(2, 2, 2, 1), options(0, 0, 1));
  REQUIRE(grid.channels == 3);
  REQUIRE(grid.width == 4);
  const uint8_t v = tiles(2, 2, 2, 1)[1].pixels[1];  // tile 1, x 1, y 0
  CHECK(pixel(grid, 3, 0) == std::array<uint8_t, 3>{v, v, v});
}

TEST_CASE("make_grid refuses mismatched tiles and bad options", "[image]") {
  CHECK(refused_as_usage({}, GridOptions{}));
  std::vector<Image> mixed = tiles(2);
  mixed.push_back(tile(2, 4, 2, 3));
  CHECK(refused_as_usage(mixed, GridOptions{}));
  std::vector<Image> channels = tiles(2);
  channels.push_back(tile(2, 3, 2, 1));
  CHECK(refused_as_usage(channels, GridOptions{}));
  CHECK(refused_as_usage(tiles(2, 3, 2, 4), GridOptions{}));
  std::vector<Image> short_pixels = tiles(2);
  short_pixels[1].pixels.pop_back();
  CHECK(refused_as_usage(short_pixels, GridOptions{}));
  CHECK(refused_as_usage(tiles(2), options(-1, 1, 1)));
  CHECK(refused_as_usage(tiles(2), options(0, -1, 1)));
  CHECK(refused_as_usage(tiles(2), options(0, 1, 0)));
  CHECK(refused_as_usage(tiles(1, 1000, 1000, 1), options(0, 1, 100)));
  try {
    make_grid(mixed, GridOptions{});
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Contains("grid tile 2 is 4 x 2 x 3 but tile 0 is 3 x 2 x 3"));
  }
}
