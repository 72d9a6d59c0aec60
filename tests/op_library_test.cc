#include "cnnviz/op_library.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "cnnviz/error.h"
#include "test_env.h"

using Catch::Matchers::Contains;

TEST_CASE("op_library: the operator named by LibTorch's unknown-op message", "[op_library]") {
  CHECK(cnnviz::unknown_operator("Unknown builtin op: torchvision::nms.\nHere are some suggestions:") == "torchvision::nms");
  CHECK(cnnviz::unknown_operator("Unknown builtin op: aten::scaled_dot_product_attention.") ==
        "aten::scaled_dot_product_attention");
  CHECK(cnnviz::unknown_operator("x\nUnknown builtin op: aten::_upsample_bilinear2d_aa") == "aten::_upsample_bilinear2d_aa");
  CHECK(cnnviz::unknown_operator("Unknown type name 'Foo'") == "");
  CHECK(cnnviz::unknown_operator("Unknown builtin op: relu") == "");  // no namespace: not an operator name
}

TEST_CASE("op_library: dependencies are read from the library's bytes", "[op_library]") {
  const std::string soname = cnnviz::libtorch_soname();
  REQUIRE_THAT(soname, Contains("libtorch_cpu.so"));
  cnnviz::test::TempDir dir;
  {
    std::ofstream out(dir.file("fake.so"), std::ios::binary);
    out << std::string("\x7f" "ELF", 4) << std::string(1, '\0') << soname << std::string(1, '\0') << "libc.so.6";
    std::ofstream other(dir.file("other.so"), std::ios::binary);
    other << std::string(1, '\0') << soname << "0" << std::string(1, '\0');  // another version's soname
  }
  CHECK(cnnviz::library_depends_on(dir.file("fake.so"), soname));
  CHECK_FALSE(cnnviz::library_depends_on(dir.file("other.so"), soname));
  CHECK_FALSE(cnnviz::library_depends_on(dir.file("missing.so"), soname));
  CHECK_FALSE(cnnviz::library_depends_on(dir.file("fake.so"), ""));
}

TEST_CASE("op_library: a file that is not a library is refused with the loader's reason", "[op_library]") {
  cnnviz::test::TempDir dir;
  { std::ofstream(dir.file("text.so")) << "not a library\n"; }
  try {
    cnnviz::load_operator_library(dir.file("text.so"));
    FAIL("loaded a text file");
  } catch (const cnnviz::Error& e) {
    CHECK(e.kind() == cnnviz::ErrorKind::kInput);
    CHECK_THAT(e.what(), Contains("text.so") && Contains("could not be loaded") && Contains(cnnviz::libtorch_soname()));
  }
  CHECK_THROWS_AS(cnnviz::load_operator_library(dir.file("missing.so")), cnnviz::Error);
  CHECK(cnnviz::loaded_operator_libraries().empty());
}
