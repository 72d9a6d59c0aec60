// Parsing --target and --reshape, and the layout rule that reads a layer's output as a map. No
// LibTorch here: the tensors are handled in target_score.cc.

#include "cnnviz/target.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"

namespace cnnviz {
namespace {

constexpr const char* kTargetForms =
    "class, class:K, softmax, softmax:K, seg:K, seg:auto, seg:K:MASK.png, output:I, box, box:K or box:K:X1,Y1,X2,Y2";

std::optional<int> parse_index(std::string_view text, std::string_view whole) {
  int value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    throw Error::usage("--target '" + std::string(whole) + "': '" + std::string(text) + "' is not an index >= 0; give " + kTargetForms);
  }
  return value;
}

// Can a rows x cols map be the input's height x width at one integer stride, both sides rounded the
// same way (floor or ceil, as convolutions and patch embeddings round)?
bool grid_fits(int64_t rows, int64_t cols, int64_t height, int64_t width, int64_t max_stride = 1 << 20) {
  if (rows < 1 || cols < 1 || rows * cols < 2 || rows > height || cols > width) return false;
  const int64_t guess = height / rows;
  for (int64_t s = std::max<int64_t>(1, guess - 1); s <= std::min(guess + 1, max_stride); ++s) {
    if ((rows == height / s && cols == width / s) || (rows == (height + s - 1) / s && cols == (width + s - 1) / s)) return true;
  }
  return false;
}

// Tokens [N, L, D]: the fewest leading tokens (0 to 16) whose removal leaves a grid of the input at a
// patch size of at most 64 pixels (ViTs use 14 to 32, Swin's stages 4 to 32).
std::optional<Layout> token_grid(const std::vector<int64_t>& s, int64_t height, int64_t width) {
  for (int64_t extra = 0; extra <= 16 && extra < s[1]; ++extra) {
    const int64_t n = s[1] - extra;
    for (int64_t stride = 1; stride <= std::min<int64_t>(64, std::max(height, width)); ++stride) {
      for (int64_t rows : {height / stride, (height + stride - 1) / stride}) {
        if (rows < 1 || n % rows != 0) continue;
        if (grid_fits(rows, n / rows, height, width, 64)) return Layout{Layout::Kind::kTokens, extra, rows, n / rows, s[2]};
      }
    }
  }
  return std::nullopt;
}

// X1,Y1,X2,Y2 in pixels, x1 < x2 and y1 < y2.
std::array<float, 4> parse_box(std::string_view text, std::string_view whole) {
  std::array<float, 4> box{};
  std::size_t start = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t comma = i < 3 ? text.find(',', start) : text.size();
    const std::string part(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    char* end = nullptr;
    const float value = part.empty() ? 0.0f : std::strtof(part.c_str(), &end);
    if (part.empty() || comma == std::string_view::npos || end != part.c_str() + part.size() || !std::isfinite(value)) {
      throw Error::usage("--target '" + std::string(whole) + "': the box is not X1,Y1,X2,Y2 (four numbers in pixels)");
    }
    box[i] = value;
    start = comma + 1;
  }
  if (!(box[0] < box[2] && box[1] < box[3])) {
    throw Error::usage("--target '" + std::string(whole) + "': the box needs X1 < X2 and Y1 < Y2 (x1,y1 the top left corner)");
  }
  return box;
}

std::string number_text(float v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", static_cast<double>(v));
  return buffer;
}

Error does_not_fit(const std::vector<int64_t>& shape, const std::string& what) {
  return Error::usage("the layer's output " + shape_to_string(shape) + " is not " + what +
                      "; give another --reshape (auto, none, vit, swin, HxW) or --layer");
}

int64_t square_side(int64_t n) {
  int64_t side = 1;
  while (side * side < n) ++side;
  return side * side == n ? side : 0;
}

}  // namespace

Target parse_target(std::string_view text) {
  const std::string whole(text);
  const std::size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  const std::string_view rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  Target t;
  if (kind == "class" || kind == "softmax") {
    t.kind = kind == "class" ? TargetKind::kClass : TargetKind::kSoftmax;
    if (colon != std::string_view::npos) t.index = parse_index(rest, text);
  } else if (kind == "seg") {
    t.kind = TargetKind::kSegmentation;
    const std::size_t second = rest.find(':');
    const std::string_view cls = rest.substr(0, second);
    if (cls.empty()) throw Error::usage("--target '" + whole + "': seg needs a class, seg:K or seg:auto");
    if (cls != "auto") t.index = parse_index(cls, text);
    if (second != std::string_view::npos) {
      t.mask_path = std::string(rest.substr(second + 1));
      if (t.mask_path.empty()) throw Error::usage("--target '" + whole + "': the mask after seg:K: is empty; give a PNG file");
      if (!t.index) throw Error::usage("--target '" + whole + "': a mask needs a class, seg:K:MASK.png");
    }
  } else if (kind == "box") {
    t.kind = TargetKind::kBox;
    const std::size_t second = rest.find(':');
    if (colon != std::string_view::npos) t.index = parse_index(rest.substr(0, second), text);
    if (second != std::string_view::npos) t.box = parse_box(rest.substr(second + 1), text);
  } else if (kind == "output") {
    t.kind = TargetKind::kOutput;
    t.index = colon == std::string_view::npos ? 0 : *parse_index(rest, text);
  } else {
    throw Error::usage("--target '" + whole + "' is not a target; give " + kTargetForms);
  }
  return t;
}

std::string target_text(const Target& target, int index) {
  const std::string i = std::to_string(index);
  switch (target.kind) {
    case TargetKind::kClass: return "class:" + i;
    case TargetKind::kSoftmax: return "softmax:" + i;
    case TargetKind::kSegmentation: return "seg:" + i + (target.mask_path.empty() ? "" : ":" + target.mask_path);
    case TargetKind::kOutput: return "output:" + i;
    case TargetKind::kBox: {
      if (!target.box) return "box:" + i;
      const auto& b = *target.box;
      return "box:" + i + ":" + number_text(b[0]) + "," + number_text(b[1]) + "," + number_text(b[2]) + "," + number_text(b[3]);
    }
  }
  return i;
}

float box_iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  const float w = std::max(0.0f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  const float h = std::max(0.0f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  const float inter = w * h;
  const float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

Reshape parse_reshape(std::string_view text) {
  if (text == "auto") return {ReshapeKind::kAuto};
  if (text == "none") return {ReshapeKind::kNone};
  if (text == "vit") return {ReshapeKind::kVit};
  if (text == "swin") return {ReshapeKind::kSwin};
  if (text == "fpn") return {ReshapeKind::kFpn};
  const std::size_t x = text.find('x');
  Reshape r{ReshapeKind::kGrid};
  if (x != std::string_view::npos) {
    const std::string_view a = text.substr(0, x), b = text.substr(x + 1);
    const auto ra = std::from_chars(a.data(), a.data() + a.size(), r.rows);
    const auto rb = std::from_chars(b.data(), b.data() + b.size(), r.cols);
    if (ra.ec == std::errc() && ra.ptr == a.data() + a.size() && rb.ec == std::errc() && rb.ptr == b.data() + b.size() &&
        r.rows > 0 && r.cols > 0 && r.rows * r.cols > 1) {
      return r;
    }
  }
  throw Error::usage("--reshape '" + std::string(text) + "' is not auto, none, vit, swin, fpn or HxW (e.g. 14x14)");
}

std::string Layout::describe(const std::vector<int64_t>& shape) const {
  const std::string grid = "a " + std::to_string(rows) + " x " + std::to_string(cols) + " grid of " + std::to_string(channels) + " channels";
  switch (kind) {
    case Kind::kNone: return shape_to_string(shape) + " has no spatial layout";
    case Kind::kNchw: return shape_to_string(shape) + " read as N x C x H x W";
    case Kind::kNhwc: return shape_to_string(shape) + " read as channels-last N x H x W x C: " + grid;
    case Kind::kTokens:
      return shape_to_string(shape) + " read as tokens: " +
             (extra_tokens ? std::to_string(extra_tokens) + " leading token" + (extra_tokens > 1 ? "s" : "") + " dropped, " : "") + grid;
  }
  return shape_to_string(shape);
}

Layout read_layout(const std::vector<int64_t>& s, const Reshape& reshape, int64_t height, int64_t width) {
  using K = Layout::Kind;
  const bool four = s.size() == 4, three = s.size() == 3;
  switch (reshape.kind) {
    case ReshapeKind::kAuto:
      if (four) {
        if (grid_fits(s[1], s[2], height, width) && !grid_fits(s[2], s[3], height, width)) return {K::kNhwc, 0, s[1], s[2], s[3]};
        if (s[2] > 1 || s[3] > 1) return {K::kNchw, 0, s[2], s[3], s[1]};
      }
      if (three) {
        if (auto tokens = token_grid(s, height, width)) return *tokens;
      }
      return {};
    case ReshapeKind::kNone:
      if (!four) throw does_not_fit(s, "[N, C, H, W] (--reshape none)");
      return {K::kNchw, 0, s[2], s[3], s[1]};
    case ReshapeKind::kVit: {
      const int64_t side = three ? square_side(s[1] - 1) : 0;
      if (side < 1 || s[1] < 3) throw does_not_fit(s, "ViT tokens [N, 1 + h*w, D] of a square grid (--reshape vit)");
      return {K::kTokens, 1, side, side, s[2]};
    }
    case ReshapeKind::kSwin: {
      if (four) return {K::kNhwc, 0, s[1], s[2], s[3]};
      const int64_t side = three ? square_side(s[1]) : 0;
      if (side < 2) throw does_not_fit(s, "Swin's [N, H, W, C] or tokens [N, h*w, C] of a square grid (--reshape swin)");
      return {K::kTokens, 0, side, side, s[2]};
    }
    case ReshapeKind::kGrid: {
      const std::string what = std::to_string(reshape.rows) + " x " + std::to_string(reshape.cols) + " tokens or positions (--reshape " +
                               std::to_string(reshape.rows) + "x" + std::to_string(reshape.cols) + ")";
      if (three && s[1] >= reshape.rows * reshape.cols) return {K::kTokens, s[1] - reshape.rows * reshape.cols, reshape.rows, reshape.cols, s[2]};
      if (four && s[1] == reshape.rows && s[2] == reshape.cols) return {K::kNhwc, 0, s[1], s[2], s[3]};
      if (four && s[2] == reshape.rows && s[3] == reshape.cols) return {K::kNchw, 0, s[2], s[3], s[1]};
      throw does_not_fit(s, what);
    }
    case ReshapeKind::kFpn:
      throw does_not_fit(s, "a dict of maps (--reshape fpn reads what a detector's backbone returns, e.g. --layer backbone)");
  }
  return {};
}

}  // namespace cnnviz
