#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cnnviz/float_array.h"
#include "cnnviz/model.h"

namespace cnnviz {

/// Activation maximisation by gradient ascent, as FlashTorch 0.1.3's GradientAscent.optimize runs it:
/// from a noise image, `steps` times x <- x + lr * g / (sqrt(mean(g^2)) + 1e-5), where g is the
/// gradient of the mean of the filter's output channel (taken as the layer returns) with respect to x.
struct ActivationMaxRequest {
  int layer = -1;                  ///< ModuleTree node whose output channels are maximised
  std::vector<int64_t> filters;    ///< output channels, one image each (optimised together in one batch)
  std::vector<int64_t> input_shape = {1, 3, 224, 224};  ///< [1, C, H, W] of one image
  int steps = 30;                  ///< FlashTorch's num_iter
  float lr = 1.0f;                 ///< FlashTorch's lr
  uint64_t seed = 0;               ///< the start noise: see start_noise()
  bool normalize = true;           ///< normalise the start like FlashTorch's apply_transforms
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
  int64_t max_memory_bytes = 0;    ///< the memory guard's limit (0: none)
};

struct ActivationMaxResult {
  std::vector<FloatArray> inputs;    ///< per filter, the optimised input [C, H, W] (in the model's normalised units)
  std::vector<FloatArray> pictures;  ///< per filter, standardize_and_clip(input, 0.15, 0.7): [C, H, W] in [0, 1], as FlashTorch shows it
  std::vector<float> first;          ///< per filter, the objective at the first step
  std::vector<float> last;           ///< per filter, the objective at the last step (before its update)
  std::vector<std::string> notes;
};

/// The start images [filters, C, H, W]: FlashTorch's np.uint8(uniform(150, 180, (H, W, C))) drawn with
/// PyTorch's generator instead of numpy's: per filter in order, u = torch.rand((H, W, C),
/// generator=torch.Generator().manual_seed(seed)), pixel = floor(150 + 30 u), then ToTensor and
/// (with `normalize`) Normalize(mean, std).
FloatArray start_noise(const ActivationMaxRequest& request);

/// Runs the ascent for every filter at once. Throws Error: kUsage (no filters, a filter out of range,
/// steps or lr out of range, an input shape other than [1, 1 or 3, H, W]), kModel (the layer did not run,
/// or its output does not depend on the input),
/// kResource (memory guard), kExecution.
ActivationMaxResult maximize_activations(Model& model, const ActivationMaxRequest& request);

}  // namespace cnnviz
