#include "cnnviz/grid.h"

#include <cmath>
#include <cstddef>
#include <string>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

// Large enough for any grid cnnviz draws, small enough that no size computation below overflows.
constexpr int64_t kMaxGridBytes = int64_t{1} << 31;

std::string size_text(const Image& tile) {
  return std::to_string(tile.width) + " x " + std::to_string(tile.height) + " x " + std::to_string(tile.channels);
}

}  // namespace

Image make_grid(const std::vector<Image>& tiles, const GridOptions& options) {
  if (tiles.empty()) throw Error::usage("cannot make a grid of no tiles");
  if (options.cols < 0 || options.pad < 0 || options.scale < 1) {
    throw Error::usage("bad grid options: cols " + std::to_string(options.cols) + ", pad " + std::to_string(options.pad) +
                       ", scale " + std::to_string(options.scale) + "; need cols >= 0, pad >= 0 and scale >= 1");
  }
  const Image& first = tiles.front();
  if (first.width < 1 || first.height < 1 || (first.channels != 1 && first.channels != 3)) {
    throw Error::usage("cannot make a grid of " + size_text(first) + " tiles; tiles need a positive size and 1 or 3 channels");
  }
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const Image& tile = tiles[i];
    if (tile.width != first.width || tile.height != first.height || tile.channels != first.channels) {
      throw Error::usage("grid tile " + std::to_string(i) + " is " + size_text(tile) + " but tile 0 is " + size_text(first) +
                         "; all tiles must have the same size and channels");
    }
    if (tile.pixels.size() !=
        static_cast<std::size_t>(tile.width) * static_cast<std::size_t>(tile.height) * static_cast<std::size_t>(tile.channels)) {
      throw Error::usage("grid tile " + std::to_string(i) + " has " + std::to_string(tile.pixels.size()) +
                         " bytes of pixels, not " + size_text(tile));
    }
  }

  const auto n = static_cast<int64_t>(tiles.size());
  int64_t cols = options.cols;
  if (cols == 0) {
    cols = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
    while (cols * cols < n) ++cols;  // guard against sqrt rounding down
    while (cols > 1 && (cols - 1) * (cols - 1) >= n) --cols;
  }
  const int64_t rows = (n + cols - 1) / cols;
  const int64_t tile_w = int64_t{first.width} * options.scale, tile_h = int64_t{first.height} * options.scale;
  // Each factor is below 2^31, so these products fit in int64 before the check.
  const double width = static_cast<double>(cols) * static_cast<double>(tile_w) + static_cast<double>(cols + 1) * options.pad;
  const double height = static_cast<double>(rows) * static_cast<double>(tile_h) + static_cast<double>(rows + 1) * options.pad;
  if (width * height * 3 > static_cast<double>(kMaxGridBytes)) {
    throw Error::usage("a grid of " + std::to_string(n) + " tiles of " + size_text(first) + " in " + std::to_string(cols) +
                       " columns at scale " + std::to_string(options.scale) + " would be larger than " +
                       std::to_string(kMaxGridBytes) + " bytes; use fewer columns, tiles or a smaller scale");
  }

  Image grid;
  grid.width = static_cast<int>(width);
  grid.height = static_cast<int>(height);
  grid.channels = 3;
  const std::size_t stride = static_cast<std::size_t>(grid.width) * 3;
  grid.pixels.resize(stride * static_cast<std::size_t>(grid.height));
  for (std::size_t i = 0; i < grid.pixels.size(); i += 3) {
    grid.pixels[i] = options.background[0];
    grid.pixels[i + 1] = options.background[1];
    grid.pixels[i + 2] = options.background[2];
  }

  const int c = first.channels;
  for (int64_t t = 0; t < n; ++t) {
    const Image& tile = tiles[static_cast<std::size_t>(t)];
    const int64_t x0 = options.pad + (t % cols) * (tile_w + options.pad);
    const int64_t y0 = options.pad + (t / cols) * (tile_h + options.pad);
    for (int64_t y = 0; y < tile_h; ++y) {
      const uint8_t* src_row = tile.pixels.data() + static_cast<std::size_t>((y / options.scale) * tile.width * c);
      uint8_t* dst = grid.pixels.data() + static_cast<std::size_t>(y0 + y) * stride + static_cast<std::size_t>(x0) * 3;
      for (int64_t x = 0; x < tile_w; ++x, dst += 3) {
        const uint8_t* src = src_row + (x / options.scale) * c;
        dst[0] = src[0];
        dst[1] = src[c == 3 ? 1 : 0];
        dst[2] = src[c == 3 ? 2 : 0];
      }
    }
  }
  return grid;
}

}  // namespace cnnviz
