#pragma once

#include <vector>

#include "cnnviz/colormap.h"
#include "cnnviz/float_array.h"
#include "cnnviz/grid.h"
#include "cnnviz/image.h"

namespace cnnviz {

/// How feature maps are drawn.
struct FeatureGridOptions {
  std::vector<int> channels;  ///< channels to draw, in order (empty: 0-15, or all when fewer)
  int top = 0;                ///< > 0: the `top` channels with the highest mean activation instead
  Colormap colormap = Colormap::kGray;
  GridOptions grid;           ///< grid.cols 0: a square-ish grid
};

/// Number of channels of a feature map (C of [1, C, H, W], [C, H, W] or [1, C, L]); Error(kData) if
/// the activation is not one.
int feature_channels(const FloatArray& activation);

/// Channels of an activation ranked by mean value, highest first (ties: lower index first).
std::vector<int> top_channels(const FloatArray& activation, int k);

/// The channels of an activation [1, C, H, W] (or [C, H, W], or [1, C, L] drawn as 1 x L) as one
/// image grid, each channel min-max normalised on its own (a constant channel is drawn at 0), as
/// matplotlib's imshow does. Throws Error(kUsage) for channels out of range and Error(kData) for an
/// activation that is not a batch-of-one feature map.
Image render_feature_grid(const FloatArray& activation, FeatureGridOptions options);

}  // namespace cnnviz
