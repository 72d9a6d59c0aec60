#include <catch2/catch.hpp>

#include "cnnviz/error.h"
#include "cnnviz/name_table.h"

TEST_CASE("name_index finds a name or lists the valid ones", "[name_table]") {
  const std::vector<std::string> names = {"jet", "gray"};
  CHECK(cnnviz::name_index(names, "gray", "--colormap") == 1);
  try {
    (void)cnnviz::name_index(names, "Gray", "--colormap");
    FAIL("a name in the wrong case was accepted");
  } catch (const cnnviz::Error& e) {
    CHECK(e.kind() == cnnviz::ErrorKind::kUsage);
    CHECK(std::string(e.what()) == "--colormap 'Gray' is not known; use one of jet, gray");
  }
}
