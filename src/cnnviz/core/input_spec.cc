#include "cnnviz/input_spec.h"

#include <charconv>

#include "cnnviz/error.h"
#include "cnnviz/name_table.h"

namespace cnnviz {

const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> names = {"float32", "float16", "float64", "int64"};
  return names;
}

std::string_view dtype_name(DType dtype) { return dtype_names().at(static_cast<std::size_t>(dtype)); }

int64_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kFloat16: return 2;
    case DType::kFloat64: return 8;
    case DType::kInt64: return 8;
  }
  return 4;
}

DType parse_dtype(std::string_view text) {
  return static_cast<DType>(name_index(dtype_names(), text, "--dtype"));
}

std::vector<int64_t> parse_input_shape(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Error::usage("--input '" + std::string(text) + "': " + why +
                        "; write the shape as comma-separated positive integers, e.g. 1,3,224,224");
  };
  if (text.empty()) throw fail("empty shape");
  std::vector<int64_t> shape;
  int64_t numel = 1;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find_first_of(",x", start);
    std::string_view field = text.substr(start, end == std::string_view::npos ? end : end - start);
    if (field.empty()) throw fail("empty dimension at position " + std::to_string(shape.size() + 1));
    int64_t value = 0;
    const char* first = field.data();
    const char* last = field.data() + field.size();
    if (*first == '-') throw fail("dimension '" + std::string(field) + "' is negative");
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec == std::errc::result_out_of_range) throw fail("dimension '" + std::string(field) + "' is too large");
    if (ec != std::errc() || ptr != last) throw fail("'" + std::string(field) + "' is not an integer");
    if (value < 1) throw fail("dimension " + std::string(field) + " must be at least 1");
    if (value > kMaxInputDim) throw fail("dimension " + std::string(field) + " is too large");
    if (__builtin_mul_overflow(numel, value, &numel)) throw fail("the element count overflows");
    shape.push_back(value);
    if (shape.size() > kMaxInputRank) throw fail("more than " + std::to_string(kMaxInputRank) + " dimensions");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return shape;
}

int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace cnnviz
