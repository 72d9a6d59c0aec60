#include "cnnviz/feature_grid.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"

namespace cnnviz {
namespace {

struct MapView {
  int channels = 0, height = 1, width = 1;
};

MapView view_of(const FloatArray& a) {
  const std::vector<int64_t>& s = a.shape;
  MapView v;
  if (s.size() == 4 && s[0] == 1) {
    v = {static_cast<int>(s[1]), static_cast<int>(s[2]), static_cast<int>(s[3])};
  } else if (s.size() == 3 && s[0] == 1) {
    v = {static_cast<int>(s[1]), 1, static_cast<int>(s[2])};
  } else if (s.size() == 3) {
    v = {static_cast<int>(s[0]), static_cast<int>(s[1]), static_cast<int>(s[2])};
  } else {
    throw Error(ErrorKind::kData, "the layer's output " + shape_to_string(s) +
                                      " is not a feature map [1, C, H, W]; pick a convolution or pooling layer");
  }
  return v;
}

}  // namespace

int feature_channels(const FloatArray& activation) { return view_of(activation).channels; }

std::vector<int> top_channels(const FloatArray& activation, int k) {
  const MapView v = view_of(activation);
  const std::size_t plane = static_cast<std::size_t>(v.height) * static_cast<std::size_t>(v.width);
  std::vector<double> mean(static_cast<std::size_t>(v.channels));
  for (int c = 0; c < v.channels; ++c) {
    const float* p = activation.values.data() + static_cast<std::size_t>(c) * plane;
    mean[static_cast<std::size_t>(c)] = std::accumulate(p, p + plane, 0.0) / static_cast<double>(plane);
  }
  std::vector<int> order(static_cast<std::size_t>(v.channels));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return mean[static_cast<std::size_t>(a)] > mean[static_cast<std::size_t>(b)]; });
  order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(std::max(k, 0))));
  return order;
}

Image render_feature_grid(const FloatArray& activation, FeatureGridOptions o) {
  const MapView v = view_of(activation);
  std::vector<int> channels = o.channels;
  if (o.top > 0) {
    channels = top_channels(activation, o.top);
  } else if (channels.empty()) {
    channels.resize(static_cast<std::size_t>(std::min(v.channels, 16)));
    std::iota(channels.begin(), channels.end(), 0);
  }
  for (int c : channels) {
    if (c < 0 || c >= v.channels) {
      throw Error::usage("--channels: channel " + std::to_string(c) + " is out of range 0 to " + std::to_string(v.channels - 1));
    }
  }
  const std::size_t plane = static_cast<std::size_t>(v.height) * static_cast<std::size_t>(v.width);
  std::vector<float> normalised(plane);
  std::vector<Image> tiles;
  for (int c : channels) {
    const float* p = activation.values.data() + static_cast<std::size_t>(c) * plane;
    const auto [lo, hi] = std::minmax_element(p, p + plane);
    const float range = *hi - *lo;
    for (std::size_t i = 0; i < plane; ++i) normalised[i] = range > 0 ? (p[i] - *lo) / range : 0.0f;
    Image tile{v.width, v.height, 3, std::vector<uint8_t>(plane * 3)};
    apply_colormap(normalised.data(), plane, o.colormap, tile.pixels.data());
    tiles.push_back(std::move(tile));
  }
  if (o.grid.cols <= 0) o.grid.cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(tiles.size()))));
  return make_grid(tiles, o.grid);
}

}  // namespace cnnviz
