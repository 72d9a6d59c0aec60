// FLOPs (src/cnnviz/capture/flop_count.cc and the counting in capture.cc): fvcore's formulas on known
// shapes, then `summary --flops` against fvcore's own FlopCountAnalysis run on the same architectures
// (tests/golden/flops/, written by scripts/make-fvcore-refs with fvcore's source, plus PyTorch's own
// scaled_dot_product_attention formula, halved).

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "cnnviz/flop_count.h"
#include "cnnviz/summary.h"
#include "cli_checks.h"
#include "test_env.h"

using namespace cnnviz;

namespace {

OpArg tensor(std::vector<int64_t> shape) {
  OpArg a;
  a.kind = OpArg::Kind::kTensor;
  a.shape = std::move(shape);
  return a;
}

OpArg flag(bool value) {
  OpArg a;
  a.kind = OpArg::Kind::kBool;
  a.flag = value;
  return a;
}

int64_t count(std::string_view op, const std::vector<OpArg>& in, const std::vector<OpArg>& out = {}) {
  const OpFlops f = fvcore_flops(op, in, out);
  REQUIRE(f.status == OpCounted::kCounted);
  return f.flops;
}

}  // namespace

TEST_CASE("fvcore_flops: fvcore's formulas on ResNet's and ViT's shapes", "[flops]") {
  // ResNet18's conv1: batch x prod(weight) x prod(output spatial); the same from aten::_convolution.
  const std::vector<OpArg> conv = {tensor({1, 3, 224, 224}), tensor({64, 3, 7, 7})};
  CHECK(count("aten::conv2d", conv, {tensor({1, 64, 112, 112})}) == 118013952);
  std::vector<OpArg> convolution = conv;
  convolution.resize(12);
  convolution[6] = flag(false);
  CHECK(count("aten::_convolution", convolution, {tensor({1, 64, 112, 112})}) == 118013952);
  // A transposed convolution counts the input's spatial size (U-Net's up_conv_1: 1024 -> 512, 2x2, 28 -> 56).
  convolution = {tensor({1, 1024, 28, 28}), tensor({1024, 512, 2, 2})};
  convolution.resize(12);
  convolution[6] = flag(true);
  CHECK(count("aten::_convolution", convolution, {tensor({1, 512, 56, 56})}) == 1024LL * 512 * 4 * 28 * 28);
  CHECK(count("aten::linear", {tensor({1, 512}), tensor({1000, 512})}) == 512000);
  CHECK(count("aten::linear", {tensor({1, 197, 768}), tensor({2304, 768})}) == 197LL * 768 * 2304);
  CHECK(count("aten::addmm", {tensor({1000}), tensor({1, 512}), tensor({512, 1000})}) == 512000);
  CHECK(count("aten::matmul", {tensor({2, 12, 197, 64}), tensor({2, 12, 64, 197})}) == 2LL * 12 * 197 * 64 * 197);
  CHECK(count("aten::bmm", {tensor({8, 10, 20}), tensor({8, 20, 30})}) == 8 * 10 * 20 * 30);
  // Inference batch norm: 2 per element with affine parameters; layer norm: 5.
  CHECK(count("aten::batch_norm", {tensor({1, 64, 112, 112}), tensor({64}), tensor({64}), tensor({64}), tensor({64}), flag(false)}) ==
        2 * 64 * 112 * 112);
  CHECK(count("aten::layer_norm", {tensor({1, 197, 768}), OpArg{}, tensor({768}), tensor({768})}) == 5 * 197 * 768);
  CHECK(count("aten::layer_norm", {tensor({1, 197, 768}), OpArg{}, OpArg{}, OpArg{}}) == 4 * 197 * 768);
  CHECK(count("aten::adaptive_avg_pool2d", {tensor({1, 512, 7, 7})}) == 512 * 49);
  CHECK(count("aten::upsample_bilinear2d", {tensor({1, 21, 28, 28})}, {tensor({1, 21, 224, 224})}) == 4 * 21 * 224 * 224);
  // Attention, from PyTorch's own flop_counter (halved): ViT-B/16's 12 heads of 197 tokens of 64,
  // as tests/golden/flops/vit_b_16.json's "sdpa" share holds for its 12 layers.
  CHECK(count("aten::scaled_dot_product_attention", {tensor({1, 12, 197, 64}), tensor({1, 12, 197, 64}), tensor({1, 12, 197, 64})}) ==
        59610624);
  // The fused attention path counts what its differentiable path does: in-projection, attention, out-projection.
  CHECK(count("aten::_native_multi_head_attention", {tensor({1, 197, 768}), tensor({1, 197, 768}), tensor({1, 197, 768})}) ==
        197LL * 768 * 2304 + 59610624 + 197LL * 768 * 768);
  // einsum: fvcore's two exact forms, and numpy's path count for others (printed to 4 digits, halved).
  OpArg equation;
  equation.kind = OpArg::Kind::kString;
  equation.text = "nct,ncp->ntp";
  OpArg operands;
  operands.kind = OpArg::Kind::kTensorList;
  operands.shapes = {{2, 3, 5}, {2, 3, 7}};
  CHECK(count("aten::einsum", {equation, operands}) == 2 * 3 * 5 * 7);
  equation.text = "b g h i d, b g h j d -> b g h i j";
  operands.shapes = {{1, 49, 2, 49, 32}, {1, 49, 2, 49, 32}};
  // 1 x 49 x 2 x 49 x 49 x 32 = 7,529,536, x 2 for the summed d: 15,059,072, printed "1.506e+07".
  const double printed = std::strtod("1.506e+07", nullptr);
  CHECK(count("aten::einsum", {equation, operands}) == static_cast<int64_t>(std::floor(printed / 2)));
  // Zero by design, and no formula.
  CHECK(fvcore_flops("aten::view", {tensor({1, 2})}, {}).status == OpCounted::kIgnored);
  CHECK(fvcore_flops("aten::relu_", {tensor({1, 2})}, {}).status == OpCounted::kIgnored);
  CHECK(fvcore_flops("aten::add_", {tensor({1, 2}), tensor({1, 2})}, {}).status == OpCounted::kUncounted);
  CHECK(fvcore_flops("aten::conv2d", {tensor({1, 3, 8, 8})}, {}).status == OpCounted::kUncounted);  // no weight: no formula
}

namespace {

// The models both builds export, then the ones only PyTorch 2.x exports (scripts/make-fvcore-refs).
const std::vector<std::string> kShared = {"resnet18", "vgg11", "alexnet", "googlenet", "densenet121", "mobilenet_v2",
                                          "unet", "cifar_resnet", "cifar_densenet", "tiny_cnn"};
const std::vector<std::string> kModern = {"vit_b_16", "swin_t", "convnext_tiny", "efficientnet_b0", "mobilenet_v3_small", "maxvit_t",
                                          "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large", "fcn_resnet50", "tiny_vit"};

void check_against_fvcore(const std::string& name, const std::vector<std::string>& files) {
  const nlohmann::json golden = nlohmann::json::parse(test::read_file(test::golden_path("flops/" + name + ".json")));
  for (const std::string& file : files) {
    INFO(name + file);
    SummaryRequest request;
    request.model_path = test::model_path(name + file);
    for (const auto& shape : golden["inputs"]) request.inputs.push_back(InputSpec{shape.get<std::vector<int64_t>>(), DType::kFloat32});
    request.count_flops = true;
    const Summary s = summarize_model(request);
    CHECK(s.stats.total_flops == static_cast<int64_t>(golden["total"].get<double>()));
    // fvcore's by_module sums a module's calls; every module path that ran has its count.
    std::map<std::string, int64_t> per_path;
    for (const LayerRecord& r : s.records) {
      if (r.flops >= 0) per_path[r.path] += r.flops;
    }
    REQUIRE(per_path.size() > 1);
    int mismatched = 0;
    for (const auto& [path, flops] : per_path) {
      const auto it = golden["by_module"].find(path);
      REQUIRE(it != golden["by_module"].end());
      if (static_cast<int64_t>(it->get<double>()) != flops) {
        ++mismatched;
        UNSCOPED_INFO(path << ": " << flops << ", fvcore " << *it);
      }
    }
    CHECK(mismatched == 0);
    // What cnnviz could not count, fvcore could not either (fvcore also lists view and copy operators
    // cnnviz counts as zero by design, and tensor arithmetic on sizes a scripted file does with ints).
    for (const auto& [op, calls] : s.stats.uncounted_ops) {
      INFO(op);
      CHECK(golden["unsupported_ops"].contains(op));
    }
  }
}

}  // namespace

TEST_CASE("summary --flops equals fvcore on torchvision's CNNs, the seed's U-Net and the fixtures", "[flops][summary][models]") {
  for (const std::string& name : kShared) check_against_fvcore(name, {".script.pt", ".trace.pt"});
}

#if CNNVIZ_TEST_MODERN_MODELS
TEST_CASE("summary --flops equals fvcore with attention on ViT, Swin, MaxViT, ConvNeXt and segmentation models", "[flops][summary][models][modern]") {
  for (const std::string& name : kModern) {
    const bool has_pt2 = name != "maxvit_t" && name != "fcn_resnet50";
    check_against_fvcore(name, has_pt2 ? std::vector<std::string>{".script.pt", ".trace.pt", ".pt2"}
                                       : std::vector<std::string>{".script.pt", ".trace.pt"});
  }
  check_against_fvcore("resnet18", {".pt2"});
  check_against_fvcore("unet", {".pt2"});
}
#endif

TEST_CASE("cli summary --flops: the column, the totals, the gate, and no forward pass", "[flops][cli][models]") {
  const std::string model = test::model_path("resnet18.script.pt");
  const auto r = test::run_cnnviz({"summary", model, "--input", "1,3,224,224", "--flops", "--depth", "1"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("FLOPs") != std::string::npos);
  CHECK(r.out.find("├─Linear: 1-10                           [1, 1000]                 513,000                   512,000\n") !=
        std::string::npos);
  CHECK(r.out.find("Total FLOPs (fvcore) (G): 1.82\n") != std::string::npos);
  CHECK(r.out.find("Not counted (no formula): aten::add_ x8, aten::max_pool2d x1\n") != std::string::npos);
  const auto gate = test::run_cnnviz({"summary", model, "--input", "1,3,224,224", "--expect-flops", "1819065855"});
  CHECK(gate.exit_code == 10);
  CHECK(gate.err.find("--expect-flops: expected 1819065855 FLOPs, actual 1819065856") != std::string::npos);
  CHECK(test::run_cnnviz({"summary", model, "--input", "1,3,224,224", "--expect-flops", "1819065856"}).exit_code == 0);
  test::check_error({"summary", model, "--flops"}, 2, {"--flops needs a forward pass", "--input"});
  test::check_error({"summary", model, "--columns", "flops"}, 2, {"needs a forward pass", "--input"});
}
