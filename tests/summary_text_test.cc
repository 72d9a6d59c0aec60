#include <catch2/catch.hpp>

#include "cnnviz/error.h"
#include "cnnviz/summary_text.h"
#include "records.h"

using namespace cnnviz;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using cnnviz::test::add_node;
using cnnviz::test::call;

namespace {

// Net -> body (Sequential) -> conv (224 params), relu (called twice); head (Linear, 90 params).
struct Fixture {
  ModuleTree tree;
  std::vector<LayerRecord> rows;
  SummaryStats stats;
  Fixture() {
    const int root = add_node(tree, "", "Net", -1);
    const int seq = add_node(tree, "body", "Sequential", root);
    const int conv = add_node(tree, "body.0", "Conv2d", seq, 224);
    tree.nodes[static_cast<std::size_t>(conv)].kernel_size = KernelSize{{3, 3}, false};
    const int relu = add_node(tree, "body.1", "ReLU", seq);
    const int head = add_node(tree, "head", "Linear", root, 90);
    rows = build_layer_records(tree, {call(root, {1, 10}, {1, 3, 4, 4}), call(seq, {1, 8, 4, 4}), call(conv, {1, 8, 4, 4}),
                                      call(relu, {1, 8, 4, 4}), call(relu, {1, 8, 4, 4}), call(head, {1, 10})});
    stats = compute_summary_stats(rows, tree, {InputSpec{{1, 3, 4, 4}, DType::kFloat32}});
  }
};

}  // namespace

TEST_CASE("the default table", "[summary]") {
  Fixture f;
  const std::string expected =
      "==========================================================================================\n"
      "Layer (type:depth-idx)                   Output Shape              Param #\n"
      "==========================================================================================\n"
      "Net                                      [1, 10]                   --\n"
      "├─Sequential: 1-1                        [1, 8, 4, 4]              --\n"
      "│    └─Conv2d: 2-1                       [1, 8, 4, 4]              224\n"
      "│    └─ReLU: 2-2                         [1, 8, 4, 4]              --\n"
      "│    └─ReLU: 2-3                         [1, 8, 4, 4]              --\n"
      "├─Linear: 1-2                            [1, 10]                   90\n"
      "==========================================================================================\n"
      "Total params: 314\n"
      "Trainable params: 314\n"
      "Non-trainable params: 0\n"
      "Total mult-adds (M): 0.00\n"
      "==========================================================================================\n"
      "Input size (MB): 0.00\n"
      "Forward/backward pass size (MB): 0.00\n"
      "Params size (MB): 0.00\n"
      "Estimated Total Size (MB): 0.00\n"
      "==========================================================================================";
  CHECK(render_summary_text(f.rows, f.stats, TextOptions{}) == expected);
}

TEST_CASE("depth limit: a container at the limit shows its subtree", "[summary]") {
  Fixture f;
  TextOptions o;
  o.depth = 1;
  o.columns = {Column::kNumParams, Column::kMultAdds};
  const std::string text = render_summary_text(f.rows, f.stats, o);
  CHECK_THAT(text, Contains("├─Sequential: 1-1                        224                       3,584\n"));
  CHECK(text.find("Conv2d") == std::string::npos);
}

TEST_CASE("all columns with var names and ascii glyphs", "[summary]") {
  Fixture f;
  TextOptions o;
  o.columns = {Column::kInputSize, Column::kParamsPercent, Column::kKernelSize, Column::kTrainable};
  o.show_var_names = true;
  o.ascii_only = true;
  const std::string text = render_summary_text(f.rows, f.stats, o);
  CHECK_THAT(text, Contains("Layer (type (var_name):depth-idx)        Input Shape               Param %                   "
                            "Kernel Shape              Trainable\n"));
  CHECK_THAT(text, Contains("Net (Net)                                [1, 3, 4, 4]                   --                   --"));
  // Each cell is left-justified to 25 plus one space; Param % is f"{p:>7.2%}".
  CHECK_THAT(text, Contains("|    + Conv2d (0): 2-1                   " + std::string("--") + std::string(24, ' ') +
                            " 71.34%" + std::string(19, ' ') + "[3, 3]" + std::string(20, ' ') + "True\n"));
  CHECK_THAT(text, Contains("|    + ReLU (1): 2-3                     --                        (recursive)"));
}

TEST_CASE("long names widen the name column in steps of five", "[summary]") {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  add_node(tree, "x", "AVeryLongModuleClassNameIndeedYes", root);
  const auto rows = build_layer_records(tree, {call(root, {1}), call(1, {1})});
  const SummaryStats stats = compute_summary_stats(rows, tree, {InputSpec{{1}, DType::kFloat32}});
  const std::string text = render_summary_text(rows, stats, TextOptions{});
  // len("AVeryLongModuleClassNameIndeedYes: 1-1") + 5 x depth + 1 = 44 -> 45
  CHECK_THAT(text, StartsWith(std::string(45 + 50, '=') + "\n"));
}

TEST_CASE("totals: units and thousands and exact integers", "[summary]") {
  Fixture f;
  f.stats.total_params = 11689512;
  f.stats.trainable_params = 11689512;
  f.stats.non_trainable_params = 0;
  f.stats.total_mult_adds = 1814083944;
  std::string text = render_summary_text(f.rows, f.stats, TextOptions{});
  CHECK_THAT(text, Contains("Total params: 11,689,512\n") && Contains("Total mult-adds (G): 1.81\n"));
  f.stats.total_mult_adds = 2000000000;
  CHECK_THAT(render_summary_text(f.rows, f.stats, TextOptions{}), Contains("Total mult-adds (G): 2\n"));
  f.stats.total_mult_adds = 0;
  CHECK_THAT(render_summary_text(f.rows, f.stats, TextOptions{}), Contains("Total mult-adds (M): 0\n"));
  f.stats.total_mult_adds = 1234567000000000;
  CHECK_THAT(render_summary_text(f.rows, f.stats, TextOptions{}), Contains("Total mult-adds (T): 1,234.57\n"));
  f.stats.has_input = false;
  text = render_summary_text(f.rows, f.stats, TextOptions{});
  CHECK(text.find("mult-adds") == std::string::npos);
  CHECK(text.find("Input size") == std::string::npos);
}

TEST_CASE("column names have one table", "[summary]") {
  CHECK(parse_column("kernel_size") == Column::kKernelSize);
  CHECK(column_names().size() == 8);
  CHECK(parse_column("flops") == Column::kFlops);
  CHECK_THROWS_WITH(parse_column("macs"), Contains("unknown column 'macs'") && Contains("mult_adds") && Contains("flops"));
  CHECK(with_thousands(1234567) == "1,234,567");
  CHECK(with_thousands(999) == "999");
}
