// libFuzzer target: the --input shape parser (parse_input_shape) on arbitrary text.
// Invariants: a parsed shape has 1..kMaxInputRank dimensions in 1..kMaxInputDim whose product fits in
// int64, and writing it back as "a,b,c" parses to the same shape; bad text gives Error(kUsage).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/input_spec.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cnnviz;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const std::vector<int64_t> shape = parse_input_shape(text);
    FUZZ_CHECK(!shape.empty() && shape.size() <= kMaxInputRank);
    int64_t numel = 1;
    std::string commas, printed = "[";
    for (const int64_t d : shape) {
      FUZZ_CHECK(d >= 1 && d <= kMaxInputDim);
      FUZZ_CHECK(!__builtin_mul_overflow(numel, d, &numel));
      if (!commas.empty()) {
        commas += ',';
        printed += ", ";
      }
      commas += std::to_string(d);
      printed += std::to_string(d);
    }
    FUZZ_CHECK(shape_numel(shape) == numel);
    FUZZ_CHECK(shape_to_string(shape) == printed + "]");
    FUZZ_CHECK(parse_input_shape(commas) == shape);
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kUsage});
  }
  return 0;
}
