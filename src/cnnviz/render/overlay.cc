#include "cnnviz/overlay.h"

#include <algorithm>

#include "cnnviz/error.h"

namespace cnnviz {

Image heatmap_image(const FloatArray& map, Colormap colormap) {
  if (map.dims() != 2) throw Error::usage("a heatmap needs a [H, W] map");
  Image out{static_cast<int>(map.shape[1]), static_cast<int>(map.shape[0]), 3, std::vector<uint8_t>(map.values.size() * 3)};
  apply_colormap(map.values.data(), map.values.size(), colormap, out.pixels.data(), /*opencv_quantisation=*/true);
  return out;
}

Image overlay_heatmap(const Image& image, const FloatArray& map, float image_weight, Colormap colormap) {
  if (!(image_weight >= 0.0f && image_weight <= 1.0f)) throw Error::usage("--image-weight must be between 0 and 1");
  if (map.dims() != 2 || map.shape[0] != image.height || map.shape[1] != image.width) {
    throw Error::usage("the map and the image differ in size");
  }
  const Image heat = heatmap_image(map, colormap);
  const std::size_t n = map.values.size();
  std::vector<float> blended(n * 3);
  float max_value = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < 3; ++c) {
      const uint8_t px = image.pixels[i * static_cast<std::size_t>(image.channels) + (image.channels >= 3 ? c : 0)];
      const float h = static_cast<float>(heat.pixels[i * 3 + c]) / 255.0f;
      const float v = (1.0f - image_weight) * h + image_weight * (static_cast<float>(px) / 255.0f);
      blended[i * 3 + c] = v;
      max_value = std::max(max_value, v);
    }
  }
  Image out{image.width, image.height, 3, std::vector<uint8_t>(n * 3)};
  for (std::size_t i = 0; i < n * 3; ++i) {
    const float v = max_value > 0.0f ? blended[i] / max_value : 0.0f;
    out.pixels[i] = static_cast<uint8_t>(std::clamp(255.0f * v, 0.0f, 255.0f));
  }
  return out;
}

}  // namespace cnnviz
