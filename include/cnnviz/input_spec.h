#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cnnviz {

/// Element type of a generated model input.
enum class DType { kFloat32, kFloat16, kFloat64, kInt64 };

/// Every DType's user-facing name ("float32", "float16", "float64", "int64"), in enum order.
const std::vector<std::string>& dtype_names();
std::string_view dtype_name(DType dtype);
/// Bytes per element.
int64_t dtype_size(DType dtype);
/// Parses a dtype name; throws Error(kUsage) naming the accepted values.
DType parse_dtype(std::string_view text);

/// One model input: its shape (batch included) and element type.
struct InputSpec {
  std::vector<int64_t> shape;
  DType dtype = DType::kFloat32;
};

/// Largest accepted rank and dimension of an --input shape.
constexpr std::size_t kMaxInputRank = 8;
constexpr int64_t kMaxInputDim = int64_t{1} << 31;

/// Parses "1,3,224,224" (also "1x3x224x224"). Throws Error(kUsage) naming the text and the problem
/// for empty text, empty or non-integer fields, dimensions < 1 or > kMaxInputDim, more than
/// kMaxInputRank dimensions, or an element count that overflows int64.
std::vector<int64_t> parse_input_shape(std::string_view text);

/// Number of elements of a shape (1 for a scalar shape); the shape must come from parse_input_shape
/// or a tensor, so it cannot overflow.
int64_t shape_numel(const std::vector<int64_t>& shape);

/// "[1, 3, 224, 224]", as Python prints a list.
std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace cnnviz
