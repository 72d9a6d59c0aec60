// The torch.export runtime (src/cnnviz/model/export_runtime.cc) on `.pt2` files saved by PyTorch 2.14
// (models/export_models.py, PT2_NAMES). The references: the TorchScript files of the same weights,
// whose trees and maps are checked against torchinfo, pytorch-grad-cam and PyTorch elsewhere, and
// torchinfo's tables (tests/golden_test.cc). Only LibTorch 2.x builds export and test them; the 1.13
// build opens them in the cross test (tests/cli_test.cc).

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/image_run.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "cnnviz/summary.h"
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

// Without --input a .pt2 is summarised at the shapes it was exported with.
TEST_CASE("export runtime: a .pt2 without inputs runs at its exported shape", "[export][models][modern]") {
  SummaryRequest request;
  request.model_path = test::model_path("resnet18.pt2");
  const Summary implicit = summarize_model(request);
  request.inputs = {InputSpec{{1, 3, 224, 224}, DType::kFloat32}};
  const Summary explicit_input = summarize_model(request);
  REQUIRE(implicit.context.inputs.size() == 1);
  CHECK(implicit.context.inputs[0].shape == std::vector<int64_t>{1, 3, 224, 224});
  REQUIRE(implicit.records.size() == explicit_input.records.size());
  for (std::size_t i = 0; i < implicit.records.size(); ++i) {
    CHECK(implicit.records[i].output_shape == explicit_input.records[i].output_shape);
    CHECK(implicit.records[i].mult_adds == explicit_input.records[i].mult_adds);
  }
  CHECK(implicit.stats.total_mult_adds == explicit_input.stats.total_mult_adds);
}

// Another batch size runs the same graph: static shapes baked into a view would fail here.
TEST_CASE("export runtime: a .pt2 runs at another batch size and device-free shapes", "[export][models][modern]") {
  SummaryRequest request;
  request.model_path = test::model_path("resnet18.pt2");
  request.inputs = {InputSpec{{2, 3, 64, 64}, DType::kFloat32}};
  const Summary s = summarize_model(request);
  CHECK(s.records.front().output_shape == std::vector<int64_t>{2, 1000});
}

#endif
