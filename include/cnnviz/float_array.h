#pragma once

#include <cstdint>
#include <vector>

namespace cnnviz {

/// A dense float32 array in C order: a copy of a tensor (weights, an activation, a preprocessed
/// image) that outlives LibTorch and can be rendered or saved without it.
struct FloatArray {
  std::vector<int64_t> shape;
  std::vector<float> values;  ///< product(shape) elements, row-major

  int64_t size(std::size_t dim) const { return shape.at(dim); }
  std::size_t dims() const { return shape.size(); }
};

}  // namespace cnnviz
