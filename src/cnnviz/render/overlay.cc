#include "cnnviz/overlay.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

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

void draw_detections(Image& image, const std::vector<Detection>& detections, float threshold) {
  if (image.channels != 3) return;
  // Distinct, saturated colours that stay apart in grey too (dark, light, mid).
  static const uint8_t palette[][3] = {{230, 25, 75}, {255, 225, 25}, {0, 130, 200}, {60, 180, 75}, {245, 130, 48},
                                       {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {255, 255, 255}, {0, 0, 0}};
  auto plot = [&](int x, int y, const uint8_t* c) {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
    uint8_t* p = &image.pixels[(static_cast<std::size_t>(y) * static_cast<std::size_t>(image.width) + static_cast<std::size_t>(x)) * 3];
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
  };
  auto to_pixel = [](float v, int limit) { return static_cast<int>(std::clamp(std::floor(v), -1.0f, static_cast<float>(limit))); };
  for (const Detection& d : detections) {
    if (d.score < threshold) continue;
    const uint8_t* colour = palette[static_cast<std::size_t>(std::abs(d.label)) % (sizeof palette / sizeof palette[0])];
    const int x1 = to_pixel(d.box[0], image.width), y1 = to_pixel(d.box[1], image.height);
    const int x2 = to_pixel(d.box[2], image.width), y2 = to_pixel(d.box[3], image.height);
    for (int t = 0; t < 2; ++t) {
      for (int x = x1; x <= x2; ++x) {
        plot(x, y1 + t, colour);
        plot(x, y2 - t, colour);
      }
      for (int y = y1; y <= y2; ++y) {
        plot(x1 + t, y, colour);
        plot(x2 - t, y, colour);
      }
    }
  }
}

}  // namespace cnnviz
