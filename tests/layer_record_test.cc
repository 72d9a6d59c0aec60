#include <catch2/catch.hpp>

#include "cnnviz/layer_record.h"
#include "records.h"

using namespace cnnviz;
using cnnviz::test::add_node;
using cnnviz::test::call;

TEST_CASE("torchinfo's mult-adds rule", "[summary]") {
  ModuleNode conv;
  conv.class_name = "Conv2d";
  conv.weight_bias_params = 9408;  // resnet18 conv1, no bias
  CHECK(torchinfo_mult_adds(conv, {1, 64, 112, 112}) == 118013952);  // torchinfo's resnet18 reference
  ModuleNode bn;
  bn.class_name = "BatchNorm2d";
  bn.weight_bias_params = 128;
  CHECK(torchinfo_mult_adds(bn, {1, 64, 112, 112}) == 128);  // N x params, not H x W
  ModuleNode fc;
  fc.class_name = "Linear";
  fc.weight_bias_params = 513000;
  CHECK(torchinfo_mult_adds(fc, {2, 1000}) == 1026000);
  ModuleNode up;
  up.class_name = "ConvTranspose2d";  // output spatial size, as torchinfo does
  up.weight_bias_params = 10;
  CHECK(torchinfo_mult_adds(up, {1, 4, 8, 8}) == 640);
  ModuleNode lstm;
  lstm.class_name = "LSTM";
  lstm.other_weight_bias_params = 100;  // weight_ih_l0 & co: N x out[1]
  CHECK(torchinfo_mult_adds(lstm, {3, 5, 7}) == 1500);
  CHECK(torchinfo_mult_adds(conv, {}) == 0);
}

TEST_CASE("rows follow calls and repeated calls are recursive and depth indices run per depth", "[summary]") {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  const int seq = add_node(tree, "body", "Sequential", root);
  const int conv = add_node(tree, "body.0", "Conv2d", seq, 224);
  const int relu = add_node(tree, "body.1", "ReLU", seq);
  const int head = add_node(tree, "head", "Linear", root, 90);
  const auto rows = build_layer_records(
      tree, {call(root, {1, 10}), call(seq, {1, 8, 4, 4}), call(conv, {1, 8, 4, 4}), call(relu, {1, 8, 4, 4}),
             call(relu, {1, 8, 4, 4}), call(head, {1, 10})});
  REQUIRE(rows.size() == 6);
  CHECK(rows[2].mult_adds == 224 * 16);
  CHECK(rows[3].call_index == 0);
  CHECK_FALSE(rows[3].is_recursive);
  CHECK(rows[4].call_index == 1);
  CHECK(rows[4].is_recursive);
  CHECK(rows[1].depth_index == 1);
  CHECK(rows[5].depth_index == 2);  // second depth-1 row
  CHECK(rows[4].depth_index == 3);  // third depth-2 row
  CHECK(rows[0].subtree_end == 6);
  CHECK(rows[1].subtree_end == 5);
  CHECK(rows[1].leaf_mult_adds == 224 * 16);
  CHECK(rows[0].leftover_params == 0);
  CHECK(rows[2].output_bytes == 4 * 128);
}

TEST_CASE("a container that never ran is inserted above its children", "[summary]") {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  const int stages = add_node(tree, "stages", "ModuleList", root);
  const int a = add_node(tree, "stages.0", "Conv2d", stages, 10);
  const int b = add_node(tree, "stages.1", "ReLU", stages);
  const int act = add_node(tree, "act", "ReLU", root);

  SECTION("once when its children run back to back") {
    const auto rows = build_layer_records(tree, {call(root, {1}), call(a, {1, 2, 2, 2}), call(b, {1, 2, 2, 2})});
    REQUIRE(rows.size() == 4);
    CHECK(rows[1].node == stages);
    CHECK_FALSE(rows[1].executed);
    CHECK(rows[1].output_shape.empty());
    CHECK_FALSE(rows[1].is_recursive);
    CHECK(rows[2].depth_index == 1);
  }
  SECTION("again after another module at its depth ran; torchinfo then shares one object for both") {
    const auto rows = build_layer_records(tree, {call(root, {1}), call(a, {1, 2, 2, 2}), call(act, {1, 2, 2, 2}),
                                                 call(b, {1, 2, 2, 2})});
    REQUIRE(rows.size() == 6);
    CHECK(rows[1].node == stages);
    CHECK(rows[4].node == stages);
    CHECK(rows[1].is_recursive);
    CHECK(rows[4].is_recursive);
    CHECK(rows[1].depth_index == rows[4].depth_index);
    CHECK(rows[4].depth_index == 3);
  }
}

TEST_CASE("leftover params are what no row below shows", "[summary]") {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  const int block = add_node(tree, "block", "Block", root, 0, false);
  const int conv = add_node(tree, "block.conv", "Conv2d", block, 50);
  add_node(tree, "block.unused", "Linear", block, 7);  // never runs: shows up as the block's leftover
  const auto rows = build_layer_records(tree, {call(root, {1}), call(block, {1, 5}), call(conv, {1, 5, 1, 1})});
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].num_params == 57);
  CHECK(rows[1].leftover_params == 7);
  CHECK(rows[0].leftover_params == 0);
}

TEST_CASE("without an input every module is listed once in tree order", "[summary]") {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  add_node(tree, "a", "Conv2d", root, 3);
  add_node(tree, "b", "ReLU", root);
  const auto rows = build_layer_records_without_input(tree);
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].path == "a");
  CHECK_FALSE(rows[1].executed);
  CHECK(rows[2].depth_index == 2);
}
