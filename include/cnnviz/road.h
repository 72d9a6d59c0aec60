#pragma once

// ROAD's perturbation (Rong et al., "A Consistent and Efficient Evaluation Strategy for Attribution
// Methods", https://arxiv.org/abs/2202.00449), as pytorch-grad-cam's metrics/road.py and
// metrics/perturbation_confidence.py run it: the pixels a map ranks highest (or lowest) are removed
// and filled in from their neighbours by a sparse linear system. The noise ROAD adds on top needs
// LibTorch's generator and is cam_metrics.cc's. Plain C++: no LibTorch here.

#include <cstdint>
#include <vector>

#include "cnnviz/float_array.h"

namespace cnnviz {

/// The pixels ROAD removes from `map` [H, W] at `percentile` (0 to 100): with `most_relevant_first`,
/// those whose value is not below numpy's np.percentile(map, percentile) (linear interpolation, in
/// float32 as numpy does for a float32 map); otherwise the same of 1 - map. 1 = removed, row-major,
/// H * W entries. Ties with the threshold are removed, as pytorch-grad-cam's `mask < threshold` keeps
/// only the pixels strictly below it.
std::vector<uint8_t> road_removed_pixels(const FloatArray& map, double percentile, bool most_relevant_first);

/// The threshold above: numpy's np.percentile of float32 values with the default "linear" method.
float numpy_percentile(std::vector<float> values, double percentile);

/// ROAD's linear imputation (NoisyLinearImputer without its noise): `image` [C, H, W] with every removed
/// pixel (`removed`, H * W entries, 1 = removed) replaced, channel by channel, by the weighted mean of
/// its 8 neighbours (1/6 for the 4 sides, 1/12 for the corners, only neighbours inside the image),
/// solved for all removed pixels at once. The values are rounded to float32 from the double solution.
/// When every pixel is removed the system has no data and the removed pixels become 0, as SciPy's
/// spsolve returns for it.
FloatArray impute_linear(const FloatArray& image, const std::vector<uint8_t>& removed);

}  // namespace cnnviz
