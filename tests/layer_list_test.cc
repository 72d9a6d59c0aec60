// summary/layer_list: `cnnviz layers` as a library unit.

#include <catch2/catch.hpp>

#include "cnnviz/layer_list.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

TEST_CASE("list_layers: every module once, shapes from one forward", "[layers][models]") {
  Model model = load_model(test::model_path("resnet18.script.pt"), DeviceKind::kCpu);
  const ModuleTree& tree = model.tree();
  const LayerList bare = list_layers(model, {}, 0);
  CHECK(bare.rows.size() == tree.nodes.size());
  CHECK_FALSE(bare.with_shapes);

  const LayerList list = list_layers(model, {InputSpec{{1, 3, 224, 224}, DType::kFloat32}}, int64_t{4} << 30);
  REQUIRE(list.with_shapes);
  REQUIRE(list.rows.size() == tree.nodes.size());
  // torchvision's ResNet18 at 224 x 224 (torchinfo's table, tests/golden): conv1 halves, layer4 is 7 x 7, fc gives 1000.
  auto row = [&](const std::string& path) {
    for (const LayerRow& r : list.rows) {
      if (tree.nodes[static_cast<std::size_t>(r.node)].path == path) return r;
    }
    FAIL("no row " << path);
    return LayerRow{};
  };
  CHECK(row("conv1").output_shape == std::vector<int64_t>{1, 64, 112, 112});
  CHECK(row("layer4").output_shape == std::vector<int64_t>{1, 512, 7, 7});
  CHECK(row("fc").output_shape == std::vector<int64_t>{1, 1000});
  for (const LayerRow& r : list.rows) CHECK(r.ran);

  const std::string text = layers_text(tree, list);
  CHECK_THAT(text, StartsWith("path") && Contains("output") && Contains("conv1") && Contains("[1, 64, 112, 112]"));
  const nlohmann::ordered_json doc = layers_json(tree, list, "resnet18.script.pt");
  CHECK(doc["schema"] == "cnnviz.layers");
  CHECK(doc["layers"].size() == tree.nodes.size());
  CHECK(doc["layers"][1]["path"] == "conv1");
  CHECK(doc["layers"][1]["stride"] == std::vector<int>{2, 2});
  CHECK(doc["layers"][1]["output_shape"] == std::vector<int>{1, 64, 112, 112});
  CHECK(doc["layers"][1]["ran"] == true);
}
