// Feature maps and kernels against PyTorch on the same .pt files (models/references.py): a forward
// hook that clones the module's output, and the weights as stored.

#include <catch2/catch.hpp>

#include "cnnviz/capture.h"
#include "cnnviz/feature_grid.h"
#include "cnnviz/kernel_grid.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "npy_reference.h"

using namespace cnnviz;

TEST_CASE("feature maps equal a cloning forward hook in PyTorch", "[features][models]") {
  const FloatArray input = test::load_reference("photo.png.direct_bilinear.npy");
  // resnet18 layer1.0.bn1 is changed in place by the ReLU after it: a capture that kept a reference
  // instead of a copy would show post-ReLU values here.
  for (const auto& [model_name, layer] : std::vector<std::pair<std::string, std::string>>{
           {"vgg16", "features.0"}, {"vgg11", "features.3"}, {"resnet18", "layer1.0.bn1"}}) {
    for (const char* variant : {"script", "trace"}) {
      INFO(model_name << "." << variant << " " << layer);
      Model model = load_model(test::model_path(model_name + "." + variant + ".pt"), DeviceKind::kCpu);
      CaptureOptions options;
      options.inputs = {InputSpec{input.shape, DType::kFloat32}};
      options.input_data = {input};
      const int node = find_layer(model.tree(), layer, "m");
      options.keep_outputs = {node};
      const CaptureResult result = capture_module_calls(model, options);
      REQUIRE(result.outputs.count(node));
      const FloatArray reference = test::load_reference(model_name + "." + variant + "." + layer + ".npy");
      CHECK(test::max_abs_diff(result.outputs.at(node), reference) <= 1e-6);
      // The weights, exactly as stored.
      const FloatArray weight = module_parameter(model, node, "weight");
      CHECK(weight.values == test::load_reference(model_name + "." + variant + "." + layer + ".weight.npy").values);
    }
  }
}
