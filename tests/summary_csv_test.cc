#include <catch2/catch.hpp>

#include "cnnviz/summary_csv.h"
#include "records.h"

using namespace cnnviz;
using cnnviz::test::add_node;
using cnnviz::test::call;

TEST_CASE("CSV rows are RFC 4180 with x-separated shapes", "[summary]") {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  add_node(tree, "a,b", "Odd\"Name", root, 1);
  const auto rows = build_layer_records(tree, {call(root, {1, 2}), call(1, {1, 2, 3})});
  const std::string csv = summary_to_csv(rows);
  CHECK(csv.rfind("index,path,class,depth,", 0) == 0);
  CHECK(csv.find("1,\"a,b\",\"Odd\"\"Name\",1,1,0,true,true,false,,1x2x3,24,1,1,,1\r\n") != std::string::npos);
}
