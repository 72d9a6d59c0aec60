#include "cnnviz/kernel_grid.h"

#include <algorithm>
#include <cmath>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

struct KernelView {
  int filters = 0, channels = 0, kh = 1, kw = 1;
  bool transposed = false;
  const FloatArray* weight = nullptr;

  // Element (filter f, channel c, y, x) of the weight.
  float at(int f, int c, int y, int x) const {
    const int d0 = transposed ? c : f, d1 = transposed ? f : c;
    const int64_t dim1 = weight->shape[1];
    return weight->values[static_cast<std::size_t>(((static_cast<int64_t>(d0) * dim1 + d1) * kh + y) * kw + x)];
  }
};

KernelView view_of(const FloatArray& w, bool transposed) {
  if (w.dims() != 3 && w.dims() != 4) {
    throw Error(ErrorKind::kModel, "cnnviz draws the kernels of 1-D and 2-D convolutions; this weight has shape " +
                                       std::to_string(w.dims()) + "-D");
  }
  KernelView v;
  v.weight = &w;
  v.transposed = transposed;
  v.filters = static_cast<int>(transposed ? w.shape[1] : w.shape[0]);
  v.channels = static_cast<int>(transposed ? w.shape[0] : w.shape[1]);
  v.kh = w.dims() == 4 ? static_cast<int>(w.shape[2]) : 1;
  v.kw = static_cast<int>(w.shape.back());
  return v;
}

std::vector<int> all_indices(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

}  // namespace

std::pair<int, int> kernel_grid_extent(const FloatArray& weight, bool transposed) {
  const KernelView v = view_of(weight, transposed);
  return {v.filters, v.channels};
}

Image render_kernel_grid(const FloatArray& weight, bool transposed, KernelGridOptions o) {
  const KernelView v = view_of(weight, transposed);
  const bool color = o.color_first_layer && o.channels.empty() && v.channels == 3;
  const std::vector<int> filters = o.filters.empty() ? all_indices(v.filters) : o.filters;
  const std::vector<int> channels = o.channels.empty() ? all_indices(v.channels) : o.channels;
  for (int f : filters) {
    if (f < 0 || f >= v.filters) throw Error::usage("--filters: filter " + std::to_string(f) + " is out of range 0 to " + std::to_string(v.filters - 1));
  }
  for (int c : channels) {
    if (c < 0 || c >= v.channels) throw Error::usage("--channels: channel " + std::to_string(c) + " is out of range 0 to " + std::to_string(v.channels - 1));
  }
  if (o.grid.scale <= 0) o.grid.scale = std::max(1, 24 / std::max(v.kh, v.kw));

  std::vector<Image> tiles;
  if (color) {
    // One RGB image per filter, normalised over the whole layer so filters compare.
    const auto [lo, hi] = std::minmax_element(weight.values.begin(), weight.values.end());
    const float range = *hi - *lo;
    for (int f : filters) {
      Image tile{v.kw, v.kh, 3, std::vector<uint8_t>(static_cast<std::size_t>(v.kw * v.kh * 3))};
      for (int y = 0; y < v.kh; ++y) {
        for (int x = 0; x < v.kw; ++x) {
          for (int c = 0; c < 3; ++c) {
            const float n = range > 0 ? (v.at(f, c, y, x) - *lo) / range : 0.5f;
            tile.pixels[static_cast<std::size_t>((y * v.kw + x) * 3 + c)] = static_cast<uint8_t>(std::lround(n * 255.0f));
          }
        }
      }
      tiles.push_back(std::move(tile));
    }
    if (o.grid.cols <= 0) o.grid.cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(tiles.size()))));
  } else {
    // Symmetric around zero over everything drawn, so white is 0 in every tile.
    float max_abs = 0;
    for (int f : filters) {
      for (int c : channels) {
        for (int y = 0; y < v.kh; ++y) {
          for (int x = 0; x < v.kw; ++x) max_abs = std::max(max_abs, std::fabs(v.at(f, c, y, x)));
        }
      }
    }
    std::vector<float> normalised(static_cast<std::size_t>(v.kh * v.kw));
    for (int f : filters) {
      for (int c : channels) {
        if (o.scale_per_kernel) {
          max_abs = 0;
          for (int y = 0; y < v.kh; ++y) {
            for (int x = 0; x < v.kw; ++x) max_abs = std::max(max_abs, std::fabs(v.at(f, c, y, x)));
          }
        }
        for (int y = 0; y < v.kh; ++y) {
          for (int x = 0; x < v.kw; ++x) {
            normalised[static_cast<std::size_t>(y * v.kw + x)] = max_abs > 0 ? 0.5f + 0.5f * v.at(f, c, y, x) / max_abs : 0.5f;
          }
        }
        Image tile{v.kw, v.kh, 3, std::vector<uint8_t>(static_cast<std::size_t>(v.kw * v.kh * 3))};
        apply_colormap(normalised.data(), normalised.size(), o.colormap, tile.pixels.data());
        tiles.push_back(std::move(tile));
      }
    }
    if (o.grid.cols <= 0) {
      o.grid.cols = filters.size() > 1 ? static_cast<int>(channels.size())
                                       : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(tiles.size()))));
    }
  }
  return make_grid(tiles, o.grid);
}

}  // namespace cnnviz
