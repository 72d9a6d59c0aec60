#pragma once

// What a gradient explains, and how a layer's output is read as a spatial map: the target and
// reshape steps that CAMs and saliency maps share (pytorch-grad-cam's targets and reshape_transform).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cnnviz {

/// The score one backward starts from, after pytorch-grad-cam 1.5's model_targets.py.
enum class TargetKind {
  kClass,         ///< ClassifierOutputTarget: the raw score of class K in an [N, K] output
  kSoftmax,       ///< ClassifierOutputSoftmaxTarget: softmax(scores)[K]
  kSegmentation,  ///< SemanticSegmentationTarget: sum of class K's [H, W] map over a mask
  kOutput,        ///< one element of a model's [N, M] (or [N]) output: a regression or binary score
  kBox,           ///< FasterRCNNBoxScoreTarget: IoU + score of the detection of label K that best overlaps a box
};

/// One detection of a torchvision detector (its output's "boxes", "labels" and "scores"), in the input
/// image's pixels.
struct Detection {
  int label = 0;
  float score = 0;
  std::array<float, 4> box{};  ///< x1, y1, x2, y2
};

/// torchvision.ops.box_iou of two boxes (x1, y1, x2, y2): intersection over union, 0 when they do not meet.
float box_iou(const std::array<float, 4>& a, const std::array<float, 4>& b);

struct Target {
  TargetKind kind = TargetKind::kClass;
  /// class / softmax: the class (none: each image's top-1); seg: the class (none: "auto", the most
  /// frequent arg-max class other than 0, the background); output: the index (none: 0); box: the label
  /// (none: the best detection's).
  std::optional<int> index;
  /// seg only: a PNG whose non-zero pixels are the mask, resized (nearest) to the output's H x W;
  /// empty: the pixels where the class is the arg-max, as pytorch-grad-cam's segmentation tutorial.
  std::string mask_path;
  /// box only: the box in the input's pixels (none: each image's best detection, of label `index` when
  /// given). The detection whose IoU with it is the highest counts when that IoU is above 0.5 and its
  /// label is `index`, as pytorch-grad-cam's.
  std::optional<std::array<float, 4>> box;
};

/// Parses --target: "class", "class:K", "softmax", "softmax:K", "seg:K", "seg:auto", "seg:K:MASK.png",
/// "output:I", "box", "box:K", "box:K:X1,Y1,X2,Y2". Throws Error(kUsage) naming the forms.
Target parse_target(std::string_view text);
/// The --target text for `target` with its index resolved to `index` ("class:24", "seg:15",
/// "box:75:10.5,20,110,96.25" when its box is set).
std::string target_text(const Target& target, int index);

/// How a layer's output becomes [N, C, h, w]: pytorch-grad-cam's reshape_transform as an option.
enum class ReshapeKind {
  kAuto,  ///< the rule of read_layout(): NCHW, channels-last NHWC, or tokens of a grid
  kNone,  ///< the output is [N, C, H, W] already
  kVit,   ///< [N, 1 + h*w, D] tokens: the first (class) token dropped, a square h x w grid
  kSwin,  ///< [N, h, w, C] channels-last (torchvision's Swin), or [N, h*w, C] tokens of a square grid
  kGrid,  ///< tokens [N, L, D]: the last rows * cols tokens as a rows x cols grid; or [N, rows, cols, C]
  /// A dict of [N, C_i, h_i, w_i] maps (a detector's FPN, torchvision's BackboneWithFPN): each map's
  /// absolute value resized (bilinear) to the "pool" map's size (else the last map's), then all
  /// concatenated over channels, as pytorch-grad-cam's fasterrcnn_reshape_transform.
  kFpn,
};

struct Reshape {
  ReshapeKind kind = ReshapeKind::kAuto;
  int64_t rows = 0, cols = 0;  ///< kGrid only
};

/// Parses --reshape: auto, none, vit, swin, fpn or HxW (e.g. 14x14). Throws Error(kUsage).
Reshape parse_reshape(std::string_view text);

/// How one output shape is read as a map.
struct Layout {
  enum class Kind { kNone, kNchw, kNhwc, kTokens } kind = Kind::kNone;
  int64_t extra_tokens = 0;  ///< kTokens: leading tokens dropped (a class token, registers)
  int64_t rows = 0, cols = 0;  ///< the map's grid
  int64_t channels = 0;
  /// One line for the user: "[1, 197, 768] read as tokens: 1 extra dropped, a 14 x 14 grid of 768 channels".
  std::string describe(const std::vector<int64_t>& shape) const;
};

/// Reads `shape` (a layer's output, batch first) under `reshape` for an input of `height` x `width`
/// pixels. kAuto's rule, in order: 4-D [N, a, b, c] is channels-last when a x b is a grid of the input
/// (its aspect at some integer stride) and b x c is not, else NCHW; 3-D [N, L, D] is tokens when L minus
/// the fewest leading tokens (0 to 16) is a grid of the input at a patch size of at most 64 pixels;
/// anything else is not spatial (kind kNone).
/// The explicit kinds throw Error(kUsage) naming the shape when it does not fit them.
Layout read_layout(const std::vector<int64_t>& shape, const Reshape& reshape, int64_t height, int64_t width);

}  // namespace cnnviz
