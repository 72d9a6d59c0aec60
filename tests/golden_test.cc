// Byte-for-byte agreement with torchinfo 1.8.0's own output (tests/golden/torchinfo: the four published
// references plus files made with scripts/make-torchinfo-refs from the same Python modules the test
// models are exported from), for scripted and traced files alike.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

#include "cnnviz/summary.h"
#include "cnnviz/summary_text.h"
#include "test_env.h"

using namespace cnnviz;

namespace {

std::vector<InputSpec> inputs_of(const std::string& model) {
  const auto facts = nlohmann::json::parse(test::read_file(test::model_path(model + ".json")));
  std::vector<InputSpec> inputs;
  for (const auto& shape : facts["input_shapes"]) inputs.push_back(InputSpec{shape.get<std::vector<int64_t>>(), DType::kFloat32});
  return inputs;
}

Summary summarize(const std::string& file, const std::vector<InputSpec>& inputs) {
  SummaryRequest request;
  request.model_path = test::model_path(file);
  request.inputs = inputs;
  return summarize_model(request);
}

TextOptions all_columns_depth_10() {
  TextOptions o;
  o.columns = {Column::kInputSize, Column::kOutputSize, Column::kNumParams, Column::kParamsPercent,
               Column::kKernelSize, Column::kMultAdds, Column::kTrainable};
  o.depth = 10;
  o.show_var_names = true;
  return o;
}

// The one documented difference in the totals (docs/cli.md): torchinfo 1.8.0's Params size sums the
// leaf rows only, missing parameters that containers own directly (ViT's class token and position
// embedding, ConvNeXt's and Swin's layer scales). Returns the totals as torchinfo 1.8.0 computes them,
// and checks that cnnviz's own Params size is exactly that plus those parameters' bytes.
SummaryStats as_torchinfo_1_8(const Summary& s) {
  SummaryStats t = s.stats;
  int64_t leaf_bytes = 0, container_bytes = 0;
  for (const LayerRecord& r : s.records) {
    if (r.is_recursive) continue;
    if (r.is_leaf) leaf_bytes += r.param_bytes;
    else if (r.leftover_params > 0) container_bytes += r.leftover_params * 4;  // the test models are float32
  }
  CHECK(s.stats.param_bytes == leaf_bytes + container_bytes);
  t.param_bytes = leaf_bytes;
  t.total_bytes = t.input_bytes + t.forward_backward_bytes + t.param_bytes;
  return t;
}

// The names (up to the ':') of the table lines that differ; both tables must have as many lines.
std::vector<std::string> differing_rows(const std::string& ours, const std::string& theirs) {
  std::istringstream a(ours), b(theirs);
  std::string la, lb;
  std::vector<std::string> differing;
  while (std::getline(a, la) && std::getline(b, lb)) {
    if (la != lb) differing.push_back(la.substr(0, la.find(':')));
  }
  CHECK(std::getline(a, la).eof());
  return differing;
}

// `variant` "script" or "trace" (TorchScript, <model>.<variant>.pt) or "pt2" (torch.export, <model>.pt2).
void check_golden(const std::string& model, const std::string& variant, bool with_all_columns = true) {
  const std::string file = model + "." + variant + (variant == "pt2" ? "" : ".pt");
  INFO(file);
  const Summary s = summarize(file, inputs_of(model));
  const SummaryStats stats = as_torchinfo_1_8(s);
  CHECK(render_summary_text(s.records, stats, TextOptions{}) + "\n" ==
        test::read_file(test::golden_path("torchinfo/" + model + ".txt")));
  if (with_all_columns) {
    CHECK(render_summary_text(s.records, stats, all_columns_depth_10()) + "\n" ==
          test::read_file(test::golden_path("torchinfo/" + model + ".allcols.txt")));
  }
}

}  // namespace

TEST_CASE("golden: the published torchinfo tables of resnet18 vgg11 vgg16 and alexnet", "[golden][models]") {
  const auto model = GENERATE(as<std::string>{}, "resnet18", "vgg11", "vgg16", "alexnet");
  const auto variant = GENERATE(as<std::string>{}, "script", "trace");
  INFO(model << "." << variant);
  const Summary s = summarize(model + "." + variant + ".pt", {InputSpec{{1, 3, 224, 224}, DType::kFloat32}});
  CHECK(render_summary_text(s.records, s.stats, TextOptions{}) + "\n" ==
        test::read_file(test::golden_path("torchinfo/" + model + ".txt")));

  // Totals and every row against torchinfo's summary.json.
  const auto ref = nlohmann::json::parse(test::read_file(test::golden_path("torchinfo/" + model + ".summary.json")));
  CHECK(s.stats.total_params == ref["total_params"].get<int64_t>());
  CHECK(s.stats.trainable_params == ref["trainable_params"].get<int64_t>());
  CHECK(s.stats.total_mult_adds == ref["total_mult_adds"].get<int64_t>());
  CHECK(s.stats.input_bytes == ref["total_input"].get<int64_t>());
  CHECK(s.stats.forward_backward_bytes == ref["total_output_bytes"].get<int64_t>());
  CHECK(s.stats.param_bytes == ref["total_param_bytes"].get<int64_t>());
  CHECK(s.stats.total_bytes == ref["estimated_total_bytes"].get<int64_t>());
  REQUIRE(s.records.size() == ref["layers"].size());
  for (std::size_t i = 0; i < s.records.size(); ++i) {
    const auto& r = s.records[i];
    const auto& l = ref["layers"][i];
    INFO("row " << i << " " << r.path);
    CHECK(r.path == l["module_path"].get<std::string>());
    CHECK(r.class_name == l["class_name"].get<std::string>());
    CHECK(r.depth == l["depth"].get<int>());
    CHECK(r.depth_index == l["depth_index"].get<int>());
    CHECK(r.is_recursive == l["is_recursive"].get<bool>());
    CHECK(r.input_shape == l["input_size"].get<std::vector<int64_t>>());
    CHECK(r.output_shape == l["output_size"].get<std::vector<int64_t>>());
    CHECK(r.output_bytes == l["output_bytes"].get<int64_t>());
    CHECK(r.num_params == l["num_params"].get<int64_t>());
    CHECK(r.leftover_params == l["leftover_params"].get<int64_t>());
    if (r.is_leaf) CHECK(r.mult_adds == l["mult_adds"].get<int64_t>());
  }
}

TEST_CASE("golden: resnet18 with every column at depth 10", "[golden][models]") {
  const auto variant = GENERATE(as<std::string>{}, "script", "trace");
  INFO(variant);
  const Summary s = summarize("resnet18." + variant + ".pt", {InputSpec{{1, 3, 224, 224}, DType::kFloat32}});
  TextOptions o;
  o.columns = {Column::kInputSize, Column::kOutputSize, Column::kNumParams, Column::kKernelSize, Column::kMultAdds};
  o.depth = 10;
  CHECK(render_summary_text(s.records, s.stats, o) + "\n" ==
        test::read_file(test::golden_path("torchinfo/resnet18.allcols_depth10.txt")));
}

TEST_CASE("golden: torchvision googlenet densenet121 mobilenet_v2 and resnet50", "[golden][models]") {
  const auto model = GENERATE(as<std::string>{}, "googlenet", "densenet121", "mobilenet_v2", "resnet50");
  check_golden(model, "script");
  check_golden(model, "trace");
}

TEST_CASE("golden: the seed architectures CIFAR GoogLeNet ResNet PreAct-ResNet DenseNet and U-Net", "[golden][models]") {
  const auto model =
      GENERATE(as<std::string>{}, "cifar_googlenet", "cifar_resnet", "cifar_preact_resnet", "cifar_densenet", "unet");
  check_golden(model, "script");
  check_golden(model, "trace");
}

TEST_CASE("golden: fixtures with two inputs and loops and shared modules and tuple and dict outputs", "[golden][models]") {
  check_golden("tiny_cnn", "script");
  check_golden("tiny_cnn", "trace");
  check_golden("two_inputs", "script");
  check_golden("two_inputs", "trace");
  check_golden("edge", "script");
  // A stage and its block's body hold the same parameters without being one shared module.
  check_golden("one_block_stages", "script");
  check_golden("one_block_stages", "trace");
}

TEST_CASE("golden: a traced file differs from torchinfo only where the trace lost information", "[golden][models]") {
  // torch.jit.trace turns the (int, Tensor) tuple into (Tensor, Tensor): that row cannot match; every
  // other row must, nn.Identity's included (the trace keeps no output for it: capture.cc's pass-through
  // hint gives it the tensor it passed on).
  const Summary s = summarize("edge.trace.pt", inputs_of("edge"));
  const std::string ours = render_summary_text(s.records, s.stats, TextOptions{}) + "\n";
  CHECK(differing_rows(ours, test::read_file(test::golden_path("torchinfo/edge.txt"))) ==
        std::vector<std::string>{"├─CountAndPool"});
}

#if CNNVIZ_TEST_MODERN_MODELS
// Today's torchvision architectures, saved by PyTorch 2.14 (script and trace) and summarised by a
// cnnviz built against LibTorch 2.x, against torchinfo 1.8.0 run on the eager models with PyTorch 2.14
// (scripts/make-torchinfo-refs in the sid root). Only the LibTorch 2.x builds export and test them.
TEST_CASE("golden: today's classifiers EfficientNet MNASNet ConvNeXt RegNet MobileNetV3", "[golden][models][modern]") {
  const auto model = GENERATE(as<std::string>{}, "efficientnet_b0", "mnasnet0_5", "convnext_tiny", "regnet_y_400mf",
                              "mobilenet_v3_small");
  check_golden(model, "script");
  check_golden(model, "trace");
}

TEST_CASE("golden: transformers Swin MaxViT ViT", "[golden][models][modern]") {
  const auto model = GENERATE(as<std::string>{}, "swin_t", "maxvit_t", "vit_b_16");
  check_golden(model, "script");
  check_golden(model, "trace");
}

TEST_CASE("golden: segmentation DeepLabV3 FCN LRASPP", "[golden][models][modern]") {
  const auto model = GENERATE(as<std::string>{}, "deeplabv3_mobilenet_v3_large", "fcn_resnet50", "lraspp_mobilenet_v3_large");
  check_golden(model, "script");
  if (model != "lraspp_mobilenet_v3_large") check_golden(model, "trace");
}

// torch.export programs saved by PyTorch 2.14 (models/export_models.py, PT2_NAMES), at the shapes they
// were exported with: the same tables as torchinfo's on the eager models.
TEST_CASE("golden: torch.export programs of the fixtures and the seed architectures", "[golden][models][modern][export]") {
  const auto model = GENERATE(as<std::string>{}, "tiny_cnn", "two_inputs", "one_block_stages", "cifar_googlenet", "cifar_resnet",
                              "cifar_preact_resnet", "cifar_densenet", "unet");
  check_golden(model, "pt2");
  check_golden("resnet18", "pt2", false);  // its all-columns reference is the depth-10 one below
  SummaryRequest request;
  request.model_path = test::model_path("resnet18.pt2");
  const Summary s = summarize_model(request);
  TextOptions o;  // as "golden: resnet18 with every column at depth 10"
  o.columns = {Column::kInputSize, Column::kOutputSize, Column::kNumParams, Column::kKernelSize, Column::kMultAdds};
  o.depth = 10;
  CHECK(render_summary_text(s.records, s.stats, o) + "\n" == test::read_file(test::golden_path("torchinfo/resnet18.allcols_depth10.txt")));
}

// EfficientNet, ConvNeXt and Swin have torchvision's StochasticDepth, an identity in eval mode that runs
// no operator: the graph keeps nothing of it, so their rows below depth 3 differ (by those rows) from
// torchinfo's; their default tables (depth 3) are torchinfo's.
TEST_CASE("golden: torch.export programs of today's torchvision models", "[golden][models][modern][export]") {
  const auto model = GENERATE(as<std::string>{}, "efficientnet_b0", "mnasnet0_5", "convnext_tiny", "regnet_y_400mf", "mobilenet_v3_small",
                              "swin_t", "vit_b_16", "deeplabv3_mobilenet_v3_large");
  const bool stochastic_depth = model == "efficientnet_b0" || model == "convnext_tiny" || model == "swin_t";
  check_golden(model, "pt2", !stochastic_depth);
}

// What torch.export erases (docs/cli.md, torch.export programs): a module that runs no operator
// (nn.Identity) has no row; a module's int output became a constant; a dict output is flattened, so the
// tensor that stands for it is the first value, not the last. Every other row is torchinfo's.
TEST_CASE("golden: a .pt2 differs from torchinfo only where torch.export erased a module call", "[golden][models][modern][export]") {
  SummaryRequest request;
  request.model_path = test::model_path("edge.pt2");
  const Summary s = summarize_model(request);
  const std::string ours = render_summary_text(s.records, s.stats, TextOptions{}) + "\n";
  std::string theirs = test::read_file(test::golden_path("torchinfo/edge.txt"));
  // torchinfo's table less its nn.Identity row (the two rows after it differ in their numbers too).
  const std::size_t identity = theirs.find("├─Identity: 1-8");
  REQUIRE(identity != std::string::npos);
  theirs.erase(identity, theirs.find('\n', identity) + 1 - identity);
  CHECK(differing_rows(ours, theirs) == std::vector<std::string>{"├─CountAndPool", "├─DictHeads"});
  CHECK(s.stats.total_params == 1021);

  // LRASPP's backbone returns {"low", "high"}: torchinfo shows the last value, the flattened program the first.
  request.model_path = test::model_path("lraspp_mobilenet_v3_large.pt2");
  const Summary l = summarize_model(request);
  CHECK(differing_rows(render_summary_text(l.records, as_torchinfo_1_8(l), TextOptions{}) + "\n",
                       test::read_file(test::golden_path("torchinfo/lraspp_mobilenet_v3_large.txt"))) ==
        std::vector<std::string>{"├─IntermediateLayerGetter"});
}

TEST_CASE("golden: traced LRASPP differs from torchinfo only where the trace reordered a dict", "[golden][models][modern]") {
  // LRASPPHead.forward takes the backbone's {"low", "high"} dict; the trace passes it as a tuple in
  // another order, so the head's Input Shape names the other tensor (docs/cli.md, Traced files).
  const Summary s = summarize("lraspp_mobilenet_v3_large.trace.pt", inputs_of("lraspp_mobilenet_v3_large"));
  const SummaryStats stats = as_torchinfo_1_8(s);
  for (const bool all : {false, true}) {
    const std::string ours = render_summary_text(s.records, stats, all ? all_columns_depth_10() : TextOptions{}) + "\n";
    const std::string theirs =
        test::read_file(test::golden_path(std::string("torchinfo/lraspp_mobilenet_v3_large") + (all ? ".allcols.txt" : ".txt")));
    // The default table has no Input Shape column: equal there.
    CHECK(differing_rows(ours, theirs) == (all ? std::vector<std::string>{"├─LRASPPHead (classifier)"} : std::vector<std::string>{}));
  }
}
#endif
