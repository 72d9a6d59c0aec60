#pragma once

#include <vector>

#include "cnnviz/colormap.h"
#include "cnnviz/float_array.h"
#include "cnnviz/grid.h"
#include "cnnviz/image.h"

namespace cnnviz {

/// How convolution weights are drawn.
struct KernelGridOptions {
  std::vector<int> filters;   ///< output filters to draw, in order (empty: all)
  std::vector<int> channels;  ///< input channels to draw per filter (empty: all)
  Colormap colormap = Colormap::kBwr;
  /// Draw each filter of a 3-input-channel layer as one colour image (normalised over the whole
  /// layer), as first-layer filters are usually shown. Ignored when `channels` is given.
  bool color_first_layer = true;
  /// Scale each kernel by its own largest |value| (as the seed's per-kernel imshow looks), instead of
  /// one scale for every drawn kernel (kernels then compare in strength).
  bool scale_per_kernel = true;
  GridOptions grid;           ///< grid.scale 0: pick one so a kernel is about 24 pixels wide
};

/// The filters of a convolution weight as one image grid.
/// `weight` is [out, in / groups, kh, kw] (Conv2d), [in, out / groups, kh, kw] with `transposed`
/// (ConvTranspose2d; its filters are the output channels), or [out, in, k] (Conv1d, drawn 1 x k).
/// Colour mode: one RGB tile per filter, min-max normalised over the layer. Otherwise: one tile per
/// (filter, channel) kernel in `colormap`, symmetric around zero (value / max|w| mapped to [0, 1],
/// max|w| per kernel or over all drawn kernels), one row per filter unless grid.cols says otherwise.
/// Throws Error(kUsage) for indices out of range and Error(kModel) for other weight ranks.
Image render_kernel_grid(const FloatArray& weight, bool transposed, KernelGridOptions options);

/// Number of (filters, channels) a weight offers, in render_kernel_grid's terms.
std::pair<int, int> kernel_grid_extent(const FloatArray& weight, bool transposed);

}  // namespace cnnviz
