#include <catch2/catch.hpp>

#include "cnnviz/summary_json.h"
#include "records.h"

using namespace cnnviz;
using cnnviz::test::add_node;
using cnnviz::test::call;

TEST_CASE("JSON carries the schema and the context and every row and the totals", "[summary]") {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  const int conv = add_node(tree, "conv", "Conv2d", root, 224);
  tree.nodes[static_cast<std::size_t>(conv)].kernel_size = KernelSize{{3}, true};
  const auto rows = build_layer_records(tree, {call(root, {1, 8}, {1, 3, 4, 4}), call(conv, {1, 8, 4, 4}, {1, 3, 4, 4})});
  const std::vector<InputSpec> inputs = {{{1, 3, 4, 4}, DType::kFloat16}};
  const SummaryStats stats = compute_summary_stats(rows, tree, inputs);
  SummaryContext ctx;
  ctx.model_path = "m.pt";
  ctx.model_sha256 = "ab";
  ctx.device = "cpu";
  ctx.inputs = inputs;
  const auto doc = summary_to_json(rows, stats, ctx);
  CHECK(doc["schema"] == "cnnviz.summary");
  CHECK(doc["schema_version"] == kSummarySchemaVersion);
  CHECK(doc["model"]["sha256"] == "ab");
  CHECK(doc["inputs"][0]["dtype"] == "float16");
  CHECK(doc["inputs"][0]["bytes"] == 96);
  REQUIRE(doc["layers"].size() == 2);
  CHECK(doc["layers"][1]["path"] == "conv");
  CHECK(doc["layers"][1]["kernel_shape"] == 3);
  CHECK(doc["layers"][1]["output_shape"] == std::vector<int64_t>{1, 8, 4, 4});
  CHECK(doc["layers"][1]["mult_adds"] == 224 * 16);
  CHECK(doc["layers"][0]["mult_adds"] == 224 * 16);  // containers: the sum of their leaves
  CHECK(doc["layers"][0]["kernel_shape"].is_null());
  CHECK(doc["totals"]["params"] == 224);
  CHECK(doc["totals"]["mult_adds"] == stats.total_mult_adds);
}
