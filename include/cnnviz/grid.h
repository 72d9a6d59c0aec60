#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "cnnviz/image.h"

namespace cnnviz {

/// How make_grid() lays tiles out.
struct GridOptions {
  int cols = 0;   ///< tiles per row; 0: ceil(sqrt(number of tiles))
  int pad = 1;    ///< pixels between tiles and around the border, >= 0
  int scale = 1;  ///< nearest-neighbour upscaling of each tile, >= 1
  std::array<uint8_t, 3> background = {255, 255, 255};  ///< RGB of the padding and of empty cells
};

/// Tiles equally sized images row-major into `cols` columns and rows = ceil(n / cols) rows. Each tile is
/// enlarged `scale` times by pixel repetition. With tiles of w x h pixels the result is RGB (3 channels),
///   width  = cols * w * scale + (cols + 1) * pad
///   height = rows * h * scale + (rows + 1) * pad
/// and tile i's top-left pixel is at x = pad + (i % cols) * (w * scale + pad),
/// y = pad + (i / cols) * (h * scale + pad). Gray tiles are expanded to RGB (r = g = b). Unused cells of
/// the last row show the background. Throws Error(kUsage) for no tiles, tiles of different size or
/// channel count, a channel count other than 1 or 3, pixels that do not match a tile's size, cols < 0,
/// pad < 0, scale < 1, or a result larger than 2^31 bytes.
Image make_grid(const std::vector<Image>& tiles, const GridOptions& options);

}  // namespace cnnviz
