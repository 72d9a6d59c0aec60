#include <catch2/catch.hpp>

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"

using Catch::Matchers::Contains;
using cnnviz::parse_input_shape;

TEST_CASE("parse_input_shape reads comma and x separated shapes", "[input]") {
  CHECK(parse_input_shape("1,3,224,224") == std::vector<int64_t>{1, 3, 224, 224});
  CHECK(parse_input_shape("1x10") == std::vector<int64_t>{1, 10});
  CHECK(parse_input_shape("7") == std::vector<int64_t>{7});
}

TEST_CASE("parse_input_shape rejects malformed shapes with a usage error naming the text", "[input]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1,3,,224", "empty dimension at position 3"},
      {"0,3,224,224", "must be at least 1"},
      {"-1,3,8,8", "is negative"},
      {"a", "'a' is not an integer"},
      {"", "empty shape"},
      {"1,3,224,", "empty dimension at position 4"},
      {"1.5,3", "is not an integer"},
      {"1,2,3,4,5,6,7,8,9", "more than 8 dimensions"},
      {"99999999999999999999", "too large"},
      {"4294967296", "too large"},
      {"2147483648,2147483648,2147483648", "overflows"},
  };
  for (const auto& [text, why] : cases) {
    INFO("input: '" << text << "'");
    try {
      parse_input_shape(text);
      FAIL("accepted");
    } catch (const cnnviz::Error& e) {
      CHECK(e.kind() == cnnviz::ErrorKind::kUsage);
      CHECK_THAT(e.what(), Contains("--input '" + text + "'") && Contains(why) && Contains("e.g. 1,3,224,224"));
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("dtypes have names and sizes and a parser", "[input]") {
  CHECK(cnnviz::parse_dtype("float16") == cnnviz::DType::kFloat16);
  CHECK(cnnviz::dtype_size(cnnviz::DType::kInt64) == 8);
  CHECK(cnnviz::dtype_name(cnnviz::DType::kFloat64) == "float64");
  CHECK_THROWS_WITH(cnnviz::parse_dtype("bfloat16"), Contains("use one of float32, float16, float64, int64"));
}

TEST_CASE("shapes print as Python lists", "[input]") {
  CHECK(cnnviz::shape_to_string({1, 64, 112, 112}) == "[1, 64, 112, 112]");
  CHECK(cnnviz::shape_to_string({}) == "[]");
  CHECK(cnnviz::shape_numel({2, 3, 4}) == 24);
}
