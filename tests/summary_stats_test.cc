#include <catch2/catch.hpp>

#include "cnnviz/summary_stats.h"
#include "records.h"

using namespace cnnviz;
using cnnviz::test::add_node;
using cnnviz::test::call;

TEST_CASE("totals follow torchinfo's rules", "[summary]") {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  const int conv = add_node(tree, "conv", "Conv2d", root, 100);
  const int relu = add_node(tree, "relu", "ReLU", root);
  const auto rows = build_layer_records(
      tree, {call(root, {1, 4, 2, 2}), call(conv, {1, 4, 2, 2}), call(relu, {1, 4, 2, 2}), call(conv, {1, 4, 2, 2})});
  const SummaryStats s = compute_summary_stats(rows, tree, {InputSpec{{1, 3, 2, 2}, DType::kFloat32}});
  CHECK(s.total_params == 100);
  CHECK(s.trainable_params == 100);
  CHECK(s.non_trainable_params == 0);
  CHECK(s.total_mult_adds == 2 * 100 * 4);          // both conv calls, (recursive) one included
  CHECK(s.forward_backward_bytes == 2 * 2 * 4 * 16);  // leaves with params only: 2 calls x 2 x 64 bytes
  CHECK(s.input_bytes == 12 * 4 + 56);              // sys.getsizeof(storage) = nbytes + 56
  CHECK(s.param_bytes == 400);
  CHECK(s.total_bytes == s.input_bytes + s.forward_backward_bytes + s.param_bytes);
  CHECK(s.torchinfo_total_params == 100);
  CHECK(s.has_input);
}

TEST_CASE("a frozen model's constants are non-trainable params", "[summary]") {
  ModuleTree tree;
  add_node(tree, "", "ResNet", -1);
  tree.frozen = true;
  tree.total_params = tree.constant_elements = 11684712;  // as build_module_tree records a frozen model
  const SummaryStats s = compute_summary_stats(build_layer_records_without_input(tree), tree, {});
  CHECK(s.total_params == 11684712);
  CHECK(s.trainable_params == 0);
  CHECK(s.non_trainable_params == 11684712);
  CHECK_FALSE(s.has_input);
}
