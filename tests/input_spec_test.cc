#include <catch2/catch.hpp>

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"

TEST_CASE("parse_input_shape accepts comma lists", "[input]") {
  CHECK(cnnviz::parse_input_shape("1,3,224,224") == std::vector<int64_t>{1, 3, 224, 224});
}
