#pragma once

#include "cnnviz/colormap.h"
#include "cnnviz/float_array.h"
#include "cnnviz/image.h"
#include "cnnviz/target.h"

#include <vector>

namespace cnnviz {

/// A [H, W] map in [0, 1] as a colour image, quantised as pytorch-grad-cam does for OpenCV
/// (np.uint8(255 * value), truncating).
Image heatmap_image(const FloatArray& map, Colormap colormap = Colormap::kJet);

/// pytorch-grad-cam's show_cam_on_image(image / 255, map, use_rgb=True, image_weight=w):
/// (1 - w) * heatmap + w * image in float32, divided by its largest value, then np.uint8(255 * x).
/// `image` is the 8-bit RGB (or gray) picture the model saw, the same size as `map` [H, W].
/// Throws Error(kUsage) for a weight outside [0, 1] or mismatched sizes.
Image overlay_heatmap(const Image& image, const FloatArray& map, float image_weight = 0.5f,
                      Colormap colormap = Colormap::kJet);

/// Draws the outline (2 pixels wide, inside the box, clipped to the picture) of every detection scoring
/// at least `threshold` on an RGB `image`, one colour per label, as pytorch-grad-cam's detection tutorial
/// draws its boxes over the overlay (without their label text).
void draw_detections(Image& image, const std::vector<Detection>& detections, float threshold);

}  // namespace cnnviz
