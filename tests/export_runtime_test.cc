// The torch.export runtime (src/cnnviz/model/export_runtime.cc) on `.pt2` files saved by PyTorch 2.14
// (models/export_models.py, PT2_NAMES). The references: the TorchScript files of the same weights,
// whose trees and maps are checked against torchinfo, pytorch-grad-cam and PyTorch elsewhere, and
// torchinfo's tables (tests/golden_test.cc). Only LibTorch 2.x builds export and test them; the 1.13
// build opens them in the cross test (tests/cli_test.cc).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <vector>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "cnnviz/image_run.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_csv.h"
#include "cnnviz/summary_text.h"
#include "npy_reference.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

#if CNNVIZ_TEST_MODERN_MODELS

namespace {

std::map<std::string, const ModuleNode*> by_path(const ModuleTree& tree) {
  std::map<std::string, const ModuleNode*> nodes;
  for (const ModuleNode& n : tree.nodes) nodes[n.path] = &n;
  return nodes;
}

/// The table with every column, every row: what two summaries must agree on.
TextOptions every_column() {
  TextOptions all;
  all.columns = {Column::kInputSize, Column::kOutputSize, Column::kNumParams, Column::kParamsPercent,
                 Column::kKernelSize, Column::kMultAdds, Column::kTrainable};
  all.depth = 100;
  return all;
}

}  // namespace

// Every module the graph kept has the scripted module's class (or "Module" when it was never called
// itself), parameters, kernel and convolution settings; the modules it lost ran no operator of their own
// (nn.Identity, dropout in eval mode) and hold no parameters.
TEST_CASE("export runtime: a .pt2 has the module tree of the TorchScript file of the same weights", "[export][models][modern]") {
  const auto model = GENERATE(as<std::string>{}, "tiny_cnn", "resnet18", "cifar_googlenet", "cifar_densenet", "unet", "efficientnet_b0",
                              "convnext_tiny", "mobilenet_v3_small", "swin_t", "vit_b_16", "deeplabv3_mobilenet_v3_large");
  INFO(model);
  const Model exported = load_model(test::model_path(model + ".pt2"), DeviceKind::kCpu);
  const Model scripted = load_model(test::model_path(model + ".script.pt"), DeviceKind::kCpu);
  CHECK(exported.file().format == "torch.export");
  const ModuleTree& a = exported.tree();
  const ModuleTree& b = scripted.tree();
  CHECK(a.total_params == b.total_params);
  CHECK(a.trainable_params == b.trainable_params);
  CHECK(a.param_bytes == b.param_bytes);
  CHECK(a.buffer_count == b.buffer_count);
  const auto theirs = by_path(b);
  for (const ModuleNode& n : a.nodes) {
    INFO(n.path);
    REQUIRE(theirs.count(n.path) == 1);
    const ModuleNode& s = *theirs.at(n.path);
    if (n.qualified_class.empty()) {
      // Never called itself (Swin's attention reads qkv.weight with F.linear): the file has no class for it.
      CHECK(n.class_name == "Module");
    } else {
      CHECK(n.class_name == s.class_name);
      CHECK(n.qualified_class == s.qualified_class);
    }
    CHECK(n.depth == s.depth);
    CHECK(n.is_leaf == s.is_leaf);
    CHECK(n.num_params == s.num_params);
    CHECK(n.weight_bias_params == s.weight_bias_params);
    CHECK(n.other_weight_bias_params == s.other_weight_bias_params);
    CHECK(n.weight_shape == s.weight_shape);
    CHECK(n.conv.has_value() == s.conv.has_value());
    if (n.conv && s.conv) {
      CHECK(n.conv->stride == s.conv->stride);
      CHECK(n.conv->padding == s.conv->padding);
      CHECK(n.conv->dilation == s.conv->dilation);
      CHECK(n.conv->groups == s.conv->groups);
      CHECK(n.conv->transposed == s.conv->transposed);
    }
    if (n.class_name.find("Conv") != std::string::npos && n.kernel_size && s.kernel_size) CHECK(n.kernel_size->dims == s.kernel_size->dims);
  }
  const auto ours = by_path(a);
  for (const ModuleNode& s : b.nodes) {
    INFO(s.path << " (" << s.class_name << ") is not in the .pt2 tree");
    if (!ours.count(s.path)) CHECK(s.num_params == 0);
  }
}

// The same Grad-CAM, Grad-CAM++, Score-CAM and saliency maps from both files.
TEST_CASE("export runtime: CAMs and saliency of a .pt2 equal the TorchScript file's", "[export][models][modern]") {
  const auto model = GENERATE(as<std::string>{}, "tiny_cnn", "resnet18", "mobilenet_v3_small");
  INFO(model);
  Model exported = load_model(test::model_path(model + ".pt2"), DeviceKind::kCpu);
  Model scripted = load_model(test::model_path(model + ".script.pt"), DeviceKind::kCpu);
  const Image image = load_image(test::model_path("references/photo.png"));
  PreprocessOptions pre;
  if (model == "tiny_cnn") pre.height = pre.width = 32;
  // Score-CAM (one forward per channel) on the small model only: the same code path, a fraction of the time.
  std::vector<CamMethod> methods = {CamMethod::kGradCam, CamMethod::kGradCamPlusPlus};
  if (model == "tiny_cnn") methods.push_back(CamMethod::kScoreCam);
  for (const CamMethod method : methods) {
    CamRequest request;
    request.method = method;
    const ImageCams a = run_cam_image(exported, image, pre, request);
    const ImageCams b = run_cam_image(scripted, image, pre, request);
    CHECK(exported.tree().nodes[static_cast<std::size_t>(a.layer)].path == scripted.tree().nodes[static_cast<std::size_t>(b.layer)].path);
    REQUIRE(a.cams.size() == 1);
    CHECK(a.cams[0].target_class == b.cams[0].target_class);
    CHECK(test::max_abs_diff(a.cams[0].map, b.cams[0].map) < 1e-5);
  }
  SaliencyRequest saliency;
  const ImageSaliency a = run_saliency_image(exported, image, pre, saliency);
  const ImageSaliency b = run_saliency_image(scripted, image, pre, saliency);
  CHECK(test::max_abs_diff(a.saliency.gradient, b.saliency.gradient) <= 1e-5 * std::max(test::abs_max(b.saliency.gradient), 1.0));
}

// Without --input a .pt2 is summarised at the shapes it was exported with, and there (with or without
// --input) from the shapes its program records: no operator runs, and every figure is the one the
// graph's run gives (every column, the CSV, the totals).
TEST_CASE("export runtime: a .pt2 at its exported shape is summarised from its record, as its run", "[export][models][modern]") {
  const auto model = GENERATE(as<std::string>{}, "tiny_cnn", "edge", "two_inputs", "one_block_stages", "resnet18", "cifar_googlenet",
                              "cifar_resnet", "cifar_preact_resnet", "cifar_densenet", "unet", "efficientnet_b0", "mnasnet0_5",
                              "convnext_tiny", "regnet_y_400mf", "mobilenet_v3_small", "swin_t", "vit_b_16",
                              "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large");
  INFO(model);
  Model loaded = load_model(test::model_path(model + ".pt2"), DeviceKind::kCpu);
  const std::vector<InputSpec> exported_with = loaded.file().example_inputs;
  REQUIRE(!exported_with.empty());

  CaptureOptions capture;
  capture.inputs = exported_with;
  const CaptureResult recorded = capture_module_calls(loaded, capture);
  CHECK_FALSE(recorded.ran);
  capture.use_recorded_shapes = false;
  const CaptureResult ran = capture_module_calls(loaded, capture);
  CHECK(ran.ran);
  REQUIRE(recorded.calls.size() == ran.calls.size());
  for (std::size_t i = 0; i < ran.calls.size(); ++i) {
    CHECK(recorded.calls[i].node == ran.calls[i].node);
    CHECK(recorded.calls[i].input_shape == ran.calls[i].input_shape);
    CHECK(recorded.calls[i].output_shape == ran.calls[i].output_shape);
    CHECK(recorded.calls[i].output_elem_bytes == ran.calls[i].output_elem_bytes);
    CHECK(recorded.calls[i].finish_order == ran.calls[i].finish_order);
  }

  SummaryRequest request;
  request.model_path = test::model_path(model + ".pt2");
  const Summary from_record = summarize_model(request);
  request.use_recorded_shapes = false;
  request.inputs = exported_with;
  const Summary from_run = summarize_model(request);
  REQUIRE(from_record.context.inputs.size() == exported_with.size());
  CHECK(from_record.context.inputs[0].shape == exported_with[0].shape);
  const TextOptions all = every_column();
  CHECK(render_summary_text(from_record.records, from_record.stats, all) == render_summary_text(from_run.records, from_run.stats, all));
  CHECK(summary_to_csv(from_record.records) == summary_to_csv(from_run.records));
}

// At another shape the graph runs (the record is of the exported shapes only).
TEST_CASE("export runtime: a .pt2 at another shape is run, not read from its record", "[export][models][modern]") {
  Model loaded = load_model(test::model_path("resnet18.pt2"), DeviceKind::kCpu);
  CaptureOptions capture;
  capture.inputs = {InputSpec{{1, 3, 64, 64}, DType::kFloat32}};
  const CaptureResult result = capture_module_calls(loaded, capture);
  CHECK(result.ran);
  CHECK(result.calls.front().output_shape == std::vector<int64_t>{1, 1000});
  // Another dtype at the exported sizes runs too (and fails as the eager model would: float weights).
  capture.inputs = {InputSpec{{1, 3, 224, 224}, DType::kFloat64}};
  CHECK_THROWS_WITH(capture_module_calls(loaded, capture), Contains("expected scalar type Double"));
}

// A graph with a shape fixed at export (ViT reshapes to its 196 patch tokens of batch 1) fails at another
// batch size, naming the module and the shape it was exported at.
TEST_CASE("export runtime: a fixed-shape .pt2 at another shape names its exported shape", "[export][models][modern]") {
  Model loaded = load_model(test::model_path("vit_b_16.pt2"), DeviceKind::kCpu);
  CaptureOptions capture;
  capture.inputs = {InputSpec{{2, 3, 224, 224}, DType::kFloat32}};
  try {
    capture_module_calls(loaded, capture);
    FAIL("a batch of 2 ran");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kExecution);
    CHECK_THAT(e.what(), Contains("was exported at input 1,3,224,224") && Contains("dynamic_shapes"));
  }
}

// Another batch size runs the same graph: static shapes baked into a view would fail here.
TEST_CASE("export runtime: a .pt2 runs at another batch size and device-free shapes", "[export][models][modern]") {
  SummaryRequest request;
  request.model_path = test::model_path("resnet18.pt2");
  request.inputs = {InputSpec{{2, 3, 64, 64}, DType::kFloat32}};
  const Summary s = summarize_model(request);
  CHECK(s.records.front().output_shape == std::vector<int64_t>{2, 1000});
}

// A program exported with a dynamic batch dimension computes sizes with Python operators on symbolic
// ints (`_operator.mul(sym_size, 2)`) and runs at any batch. The reference: PyTorch's own record of
// every shape in the same model exported statically at that batch (tiny_vit.b3.pt2, tiny_vit.pt2),
// which cnnviz reads without running; and the CAMs of the static program of the same weights.
TEST_CASE("export runtime: a .pt2 with a dynamic batch runs at any batch", "[export][models][modern]") {
  const TextOptions all = every_column();
  auto table = [&](const std::string& file, std::vector<InputSpec> inputs) {
    SummaryRequest request;
    request.model_path = test::model_path(file);
    request.inputs = std::move(inputs);
    const Summary s = summarize_model(request);
    return render_summary_text(s.records, s.stats, all);
  };
  // Symbolic sizes: no shapes without --input, only the parameter counts.
  const Model dynamic = load_model(test::model_path("tiny_vit.dynamic.pt2"), DeviceKind::kCpu);
  CHECK(dynamic.file().example_inputs.empty());
  CHECK(dynamic.tree().total_params == 24234);
  CHECK(table("tiny_vit.dynamic.pt2", {InputSpec{{3, 3, 32, 32}, DType::kFloat32}}) == table("tiny_vit.b3.pt2", {}));
  CHECK(table("tiny_vit.dynamic.pt2", {InputSpec{{1, 3, 32, 32}, DType::kFloat32}}) == table("tiny_vit.pt2", {}));

  Model exported = load_model(test::model_path("tiny_vit.dynamic.pt2"), DeviceKind::kCpu);
  Model fixed = load_model(test::model_path("tiny_vit.pt2"), DeviceKind::kCpu);
  const Image image = load_image(test::model_path("references/photo.png"));
  PreprocessOptions pre;
  pre.height = pre.width = 32;
  auto at_conv_proj = [](const Model& m) {
    CamRequest request;
    const auto& nodes = m.tree().nodes;
    request.layer = static_cast<int>(std::find_if(nodes.begin(), nodes.end(), [](const ModuleNode& n) { return n.path == "conv_proj"; }) -
                                     nodes.begin());
    return request;
  };
  const ImageCams a = run_cam_image(exported, image, pre, at_conv_proj(exported));
  const ImageCams b = run_cam_image(fixed, image, pre, at_conv_proj(fixed));
  REQUIRE(a.cams.size() == 1);
  CHECK(a.cams[0].target_class == b.cams[0].target_class);
  CHECK(test::max_abs_diff(a.cams[0].map, b.cams[0].map) < 1e-5);
}

// Programs saved by PyTorch 2.6 (Debian 13's; `scripts/modern-root trixie-export` writes them to
// $CNNVIZ_TORCH26_MODEL_DIR): the oldest PyTorch whose .pt2 cnnviz reads. Each gives, from its record
// and by running its graph, the table of the same model saved by PyTorch 2.14 (whose tables equal
// torchinfo's: tests/golden_test.cc), every column at every depth; its CAMs equal those of the
// TorchScript file PyTorch 2.6 saved from the same weights.
TEST_CASE("export runtime: .pt2 programs saved by PyTorch 2.6", "[export][.torch26]") {
  const char* dir = std::getenv("CNNVIZ_TORCH26_MODEL_DIR");
  REQUIRE(dir != nullptr);
  const auto model = GENERATE(as<std::string>{}, "tiny_cnn", "edge", "two_inputs", "one_block_stages", "resnet18", "cifar_googlenet",
                              "cifar_resnet", "cifar_preact_resnet", "cifar_densenet", "unet", "efficientnet_b0", "mnasnet0_5",
                              "convnext_tiny", "regnet_y_400mf", "mobilenet_v3_small", "swin_t", "vit_b_16",
                              "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large");
  INFO(model);
  const std::string old_file = std::string(dir) + "/" + model + ".pt2";
  const TextOptions all = every_column();
  auto table = [&](const std::string& path, bool recorded) {
    SummaryRequest request;
    request.model_path = path;
    request.use_recorded_shapes = recorded;
    const Summary s = summarize_model(request);
    return render_summary_text(s.records, s.stats, all);
  };
  const std::string expected = table(test::model_path(model + ".pt2"), true);
  CHECK(table(old_file, true) == expected);
  CHECK(table(old_file, false) == expected);

  if (model == "tiny_cnn" || model == "resnet18") {
    Model exported = load_model(old_file, DeviceKind::kCpu);
    Model scripted = load_model(std::string(dir) + "/" + model + ".script.pt", DeviceKind::kCpu);
    const Image image = load_image(test::model_path("references/photo.png"));
    PreprocessOptions pre;
    if (model == "tiny_cnn") pre.height = pre.width = 32;
    const ImageCams a = run_cam_image(exported, image, pre, CamRequest{});
    const ImageCams b = run_cam_image(scripted, image, pre, CamRequest{});
    REQUIRE(a.cams.size() == 1);
    CHECK(a.cams[0].target_class == b.cams[0].target_class);
    CHECK(test::max_abs_diff(a.cams[0].map, b.cams[0].map) < 1e-5);
  }
}

#endif
