#include "cnnviz/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cnnviz/error.h"
#include "cnnviz/name_table.h"

namespace cnnviz {
namespace {

// Resizing reimplements Pillow 9.4's 8-bit resampling (src/libImaging/Resample.c and Geometry.c), the
// code torchvision's PIL path runs, so that cnnviz's inputs equal torchvision's: separable filters
// with coefficients in 22-bit fixed point, a horizontal pass rounded to 8 bits, then a vertical
// pass; NEAREST samples at the pixel centres with an accumulated float step.

constexpr int kPrecisionBits = 32 - 8 - 2;

double bilinear_filter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic_filter(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Per output pixel: the first input pixel, the number used, and their fixed-point weights.
struct Coefficients {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;  // out_size x ksize
};

Coefficients precompute_coefficients(int in_size, int out_size, Interpolation interpolation) {
  const double support_base = interpolation == Interpolation::kBicubic ? 2.0 : 1.0;
  double (*filter)(double) = interpolation == Interpolation::kBicubic ? bicubic_filter : bilinear_filter;
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = support_base * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<std::size_t>(out_size));
  c.count.resize(static_cast<std::size_t>(out_size));
  c.weights.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(c.ksize), 0);
  std::vector<double> k(static_cast<std::size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[static_cast<std::size_t>(x)] = filter((x + xmin - center + 0.5) * ss);
      ww += k[static_cast<std::size_t>(x)];
    }
    for (int x = 0; x < xmax; ++x) {
      double w = ww != 0.0 ? k[static_cast<std::size_t>(x)] / ww : k[static_cast<std::size_t>(x)];
      w *= (1 << kPrecisionBits);
      c.weights[static_cast<std::size_t>(xx * c.ksize + x)] = static_cast<int32_t>(w < 0 ? -0.5 + w : 0.5 + w);
    }
    c.first[static_cast<std::size_t>(xx)] = xmin;
    c.count[static_cast<std::size_t>(xx)] = xmax;
  }
  return c;
}

uint8_t clip8(int64_t sum) {
  const int64_t v = sum >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// One channel-interleaved 8-bit plane set: width x height x channels.
struct Plane {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> px;
  uint8_t& at(int x, int y, int c) { return px[(static_cast<std::size_t>(y) * width + x) * channels + c]; }
  uint8_t at(int x, int y, int c) const { return px[(static_cast<std::size_t>(y) * width + x) * channels + c]; }
};

Plane resample(const Plane& in, int out_w, int out_h, Interpolation interpolation) {
  if (interpolation == Interpolation::kNearest) {
    // ImagingScaleAffine: positions accumulate a float step from the first pixel centre.
    const double ax = static_cast<double>(static_cast<float>(in.width)) / out_w;
    const double ay = static_cast<double>(static_cast<float>(in.height)) / out_h;
    std::vector<int> xin(static_cast<std::size_t>(out_w));
    double xo = ax * 0.5;
    for (int x = 0; x < out_w; ++x, xo += ax) xin[static_cast<std::size_t>(x)] = std::min(static_cast<int>(xo), in.width - 1);
    Plane out{out_w, out_h, in.channels, std::vector<uint8_t>(static_cast<std::size_t>(out_w) * out_h * in.channels)};
    double yo = ay * 0.5;
    for (int y = 0; y < out_h; ++y, yo += ay) {
      const int yi = std::min(static_cast<int>(yo), in.height - 1);
      for (int x = 0; x < out_w; ++x) {
        for (int c = 0; c < in.channels; ++c) out.at(x, y, c) = in.at(xin[static_cast<std::size_t>(x)], yi, c);
      }
    }
    return out;
  }
  const Coefficients horizontal = precompute_coefficients(in.width, out_w, interpolation);
  Coefficients vertical = precompute_coefficients(in.height, out_h, interpolation);
  const Plane* src = &in;
  Plane temp;
  if (out_w != in.width) {
    // Only the rows the vertical pass reads.
    const int first_row = vertical.first.front();
    const int last_row = vertical.first.back() + vertical.count.back();
    for (int& f : vertical.first) f -= first_row;
    temp = Plane{out_w, last_row - first_row, in.channels,
                 std::vector<uint8_t>(static_cast<std::size_t>(out_w) * (last_row - first_row) * in.channels)};
    for (int y = 0; y < temp.height; ++y) {
      for (int x = 0; x < out_w; ++x) {
        const int32_t* k = &horizontal.weights[static_cast<std::size_t>(x * horizontal.ksize)];
        for (int c = 0; c < in.channels; ++c) {
          int64_t sum = int64_t{1} << (kPrecisionBits - 1);
          for (int i = 0; i < horizontal.count[static_cast<std::size_t>(x)]; ++i) {
            sum += in.at(horizontal.first[static_cast<std::size_t>(x)] + i, y + first_row, c) * static_cast<int64_t>(k[i]);
          }
          temp.at(x, y, c) = clip8(sum);
        }
      }
    }
    src = &temp;
  }
  if (out_h == in.height) return *src;
  Plane out{out_w, out_h, in.channels, std::vector<uint8_t>(static_cast<std::size_t>(out_w) * out_h * in.channels)};
  for (int y = 0; y < out_h; ++y) {
    const int32_t* k = &vertical.weights[static_cast<std::size_t>(y * vertical.ksize)];
    for (int x = 0; x < out_w; ++x) {
      for (int c = 0; c < in.channels; ++c) {
        int64_t sum = int64_t{1} << (kPrecisionBits - 1);
        for (int i = 0; i < vertical.count[static_cast<std::size_t>(y)]; ++i) {
          sum += src->at(x, vertical.first[static_cast<std::size_t>(y)] + i, c) * static_cast<int64_t>(k[i]);
        }
        out.at(x, y, c) = clip8(sum);
      }
    }
  }
  return out;
}

// The image in the model's channel layout: PIL's convert("L") (ITU-R 601-2 luma in 16-bit fixed
// point) for one channel, a gray image repeated for three.
Plane convert_channels(const Image& image, int channels) {
  Plane p{image.width, image.height, channels, std::vector<uint8_t>(static_cast<std::size_t>(image.width) * image.height * channels)};
  const std::size_t n = static_cast<std::size_t>(image.width) * image.height;
  for (std::size_t i = 0; i < n; ++i) {
    const uint8_t* px = &image.pixels[i * static_cast<std::size_t>(image.channels)];
    const bool rgb = image.channels >= 3;
    if (channels == 1) {
      p.px[i] = rgb ? static_cast<uint8_t>((px[0] * 19595 + px[1] * 38470 + px[2] * 7471 + 0x8000) >> 16) : px[0];
    } else {
      for (int c = 0; c < 3; ++c) p.px[i * 3 + static_cast<std::size_t>(c)] = rgb ? px[c] : px[0];
    }
  }
  return p;
}

}  // namespace

const std::vector<std::string>& interpolation_names() {
  static const std::vector<std::string> names = {"bilinear", "bicubic", "nearest"};
  return names;
}

Interpolation parse_interpolation(std::string_view name) {
  return static_cast<Interpolation>(name_index(interpolation_names(), name, "--interpolation"));
}

Image resize_for_model(const Image& image, const PreprocessOptions& o) {
  if (o.channels != 1 && o.channels != 3) {
    throw Error::usage("the model input has " + std::to_string(o.channels) + " channels; images can feed 1 or 3");
  }
  if (o.height < 1 || o.width < 1 || o.resize < 0 || o.height > (1 << 20) || o.width > (1 << 20) || o.resize > (1 << 20)) {
    throw Error::usage("image sizes must be between 1 and 1048576");
  }
  Plane p = convert_channels(image, static_cast<int>(o.channels));
  int top = 0, left = 0;
  if (o.resize == 0) {
    p = resample(p, static_cast<int>(o.width), static_cast<int>(o.height), o.interpolation);
  } else {
    // torchvision.transforms.Resize(N): the shorter side becomes N, the longer int(N * long / short).
    const bool tall = image.height > image.width;
    const int64_t short_side = tall ? image.width : image.height, long_side = tall ? image.height : image.width;
    const auto new_long = static_cast<int64_t>(static_cast<double>(o.resize) * static_cast<double>(long_side) /
                                               static_cast<double>(short_side));
    const int64_t rh = tall ? new_long : o.resize, rw = tall ? o.resize : new_long;
    if (new_long > (1 << 20)) {
      throw Error::usage("--resize " + std::to_string(o.resize) + " makes the image " + std::to_string(rh) + "x" + std::to_string(rw) +
                         ", over the limit of 1048576 a side; use a smaller --resize");
    }
    if (o.height > rh || o.width > rw) {
      throw Error::usage("--crop " + std::to_string(o.height) + "x" + std::to_string(o.width) + " is larger than the image resized to " +
                         std::to_string(rh) + "x" + std::to_string(rw) + "; use a larger --resize");
    }
    p = resample(p, static_cast<int>(rw), static_cast<int>(rh), o.interpolation);
    // CenterCrop: int(round((size - crop) / 2.0)); Python rounds halves to even, as nearbyint does.
    top = static_cast<int>(std::nearbyint(static_cast<double>(rh - o.height) / 2.0));
    left = static_cast<int>(std::nearbyint(static_cast<double>(rw - o.width) / 2.0));
  }
  Image out{static_cast<int>(o.width), static_cast<int>(o.height), static_cast<int>(o.channels), {}};
  out.pixels.resize(static_cast<std::size_t>(o.width * o.height * o.channels));
  for (int y = 0; y < o.height; ++y) {
    for (int x = 0; x < o.width; ++x) {
      for (int c = 0; c < o.channels; ++c) {
        out.pixels[(static_cast<std::size_t>(y) * o.width + x) * o.channels + c] = p.at(x + left, y + top, c);
      }
    }
  }
  return out;
}

int64_t preprocess_memory_bytes(const Image& image, const PreprocessOptions& o) {
  // In doubles: absurd sizes must give a large number, not an overflow.
  double rw = static_cast<double>(o.width), rh = static_cast<double>(o.height);
  if (o.resize > 0 && image.width > 0 && image.height > 0) {
    const double short_side = std::min(image.width, image.height), long_side = std::max(image.width, image.height);
    const double new_long = std::floor(static_cast<double>(o.resize) * long_side / short_side);
    rw = image.height > image.width ? static_cast<double>(o.resize) : new_long;
    rh = image.height > image.width ? new_long : static_cast<double>(o.resize);
  }
  const double c = static_cast<double>(o.channels), out = static_cast<double>(o.width) * static_cast<double>(o.height);
  // The converted image, the horizontal pass, the resized plane, the 8-bit result and the float input.
  const double bytes = c * (static_cast<double>(image.width) * image.height + rw * image.height + rw * rh + out) + 4.0 * c * out;
  return bytes >= 9.0e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(bytes);
}

namespace {

void check_std(const PreprocessOptions& o) {
  for (std::size_t c = 0; c < static_cast<std::size_t>(o.channels) && c < 3; ++c) {
    if (o.normalize && o.std[c] == 0.0f) throw Error::usage("--std must not contain 0");
  }
}

}  // namespace

FloatArray preprocess_image(const Image& image, const PreprocessOptions& o) {
  check_std(o);  // before the resize, which is the expensive part
  return model_input_from_resized(resize_for_model(image, o), o);
}

FloatArray model_input_from_resized(const Image& resized, const PreprocessOptions& o) {
  check_std(o);
  if (resized.width != o.width || resized.height != o.height || resized.channels != o.channels) {
    // A caller's bug, not the user's: the image must come from resize_for_model(image, o).
    throw Error(ErrorKind::kInternal, "model_input_from_resized: the image is not what resize_for_model made for these options");
  }
  // ToTensor (x / 255) and Normalize ((x - mean) / std), into [1, C, H, W].
  FloatArray a;
  a.shape = {1, o.channels, o.height, o.width};
  a.values.resize(static_cast<std::size_t>(o.channels * o.height * o.width));
  for (int c = 0; c < o.channels; ++c) {
    const float mean = o.normalize ? o.mean[static_cast<std::size_t>(c)] : 0.0f;
    const float std = o.normalize ? o.std[static_cast<std::size_t>(c)] : 1.0f;
    for (int y = 0; y < o.height; ++y) {
      for (int x = 0; x < o.width; ++x) {
        const float v = static_cast<float>(resized.pixels[(static_cast<std::size_t>(y) * o.width + x) * o.channels + c]) / 255.0f;
        a.values[(static_cast<std::size_t>(c) * o.height + y) * o.width + x] = o.normalize ? (v - mean) / std : v;
      }
    }
  }
  return a;
}

}  // namespace cnnviz
