#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/float_array.h"
#include "cnnviz/model.h"
#include "cnnviz/target.h"

namespace cnnviz {

/// Gradient-based saliency: which input pixels the class score is most sensitive to.
enum class SaliencyMethod {
  kVanilla,             ///< d score / d input (Simonyan et al. 2014; FlashTorch's Backprop, guided=False)
  kSmoothGrad,          ///< that gradient averaged over noisy copies of the input (Smilkov et al. 2017)
  kGradientTimesInput,  ///< the gradient times the input, element-wise (Shrikumar et al. 2016; Captum's InputXGradient)
  kGuided,              ///< guided backpropagation through torch.nn.ReLU modules (Springenberg et al. 2015; pytorch-grad-cam's GuidedBackpropReLUModel)
  kGuidedFlashTorch,    ///< FlashTorch's guided=True: each ReLU passes its positive gradient times its output
};
/// "vanilla", "smoothgrad", "gradxinput", "guided", "guided-flashtorch", in enum order.
const std::vector<std::string>& saliency_method_names();
/// Throws Error(kUsage) listing the methods.
SaliencyMethod parse_saliency_method(std::string_view name);

/// How the [C, H, W] gradient becomes one [H, W] map.
enum class SaliencyReduce {
  kAbsMax,  ///< max over channels of |g| (Simonyan et al.)
  kMax,     ///< max over channels of g, signed (FlashTorch's take_max=True)
};
/// "abs-max", "max", in enum order. Throws Error(kUsage) for other names.
const std::vector<std::string>& saliency_reduce_names();
SaliencyReduce parse_saliency_reduce(std::string_view name);

/// How that map is brought into [0, 1] for drawing.
enum class SaliencyScale {
  kMinMax,       ///< (m - min) / (1e-7 + max(m - min)), as the CAM maps
  kStandardize,  ///< FlashTorch's standardize_and_clip: (m - mean) / std * 0.1 + 0.5, clipped to [0, 1]
};
/// "minmax", "standardize", in enum order. Throws Error(kUsage) for other names.
const std::vector<std::string>& saliency_scale_names();
SaliencyScale parse_saliency_scale(std::string_view name);

/// What to explain and how.
struct SaliencyRequest {
  /// What to explain (--class K is target.index; default: the top-1 class of the input). A seg target's
  /// mask is the image's own, kept for SmoothGrad's noisy copies.
  Target target;
  SaliencyMethod method = SaliencyMethod::kVanilla;
  SaliencyReduce reduce = SaliencyReduce::kAbsMax;
  SaliencyScale scale = SaliencyScale::kMinMax;
  int samples = 50;       ///< SmoothGrad: noisy copies
  float noise = 0.15f;    ///< SmoothGrad: the noise's standard deviation as a share of max(x) - min(x)
  uint64_t seed = 0;      ///< SmoothGrad: torch.Generator().manual_seed(seed); copy s is randn([1, C, H, W]), s = 0, 1, ...
  int batch_size = 16;    ///< SmoothGrad: noisy copies per forward
  int64_t max_memory_bytes = 0;  ///< the memory guard's limit (0: none), as for capture_module_calls
  /// The caller has run check_image_forward for this image and min(batch_size, samples) copies, from
  /// the root: no forward is guarded again.
  bool input_checked = false;
};

/// One explained image.
struct SaliencyResult {
  FloatArray gradient;        ///< [C, H, W]: the method's attribution per input element, before reducing
  FloatArray map;             ///< [H, W] in [0, 1]: reduced over channels, then scaled
  std::vector<float> scores;  ///< the model's output row [K] for the input itself (logits); empty unless [1, K]
  int target_class = 0;       ///< the class (or output) explained
  std::string target;         ///< the target as --target writes it, resolved: "class:24"
  std::vector<std::string> notes;  ///< for the user (e.g. why no memory estimate was made)
};

/// The saliency of a [1, C, H, W] float input for a classifier returning [1, K] scores: gradients of
/// the raw score of the target class with respect to the model's input. The whole model is
/// differentiated (parameters get no gradients). Throws Error: kResource (memory guard), kUsage (class
/// out of range, samples or noise out of range), kData (output not [1, K], input not [1, C, H, W]),
/// kModel (the score does not depend on the input; a guided method on a model without torch.nn.ReLU
/// modules), kExecution.
SaliencyResult compute_saliency(Model& model, const FloatArray& input, const SaliencyRequest& request);

/// FlashTorch's standardize_and_clip over all values: (x - mean) / std * saturation + brightness,
/// clipped to [0, 1], with the unbiased std (1e-7 when it is 0).
FloatArray standardize_and_clip(const FloatArray& values, float saturation = 0.1f, float brightness = 0.5f);

}  // namespace cnnviz
