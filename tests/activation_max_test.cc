// Activation maximisation against FlashTorch's gradient ascent run in plain PyTorch on the eager
// torchvision model with the same file's weights (models/activation_max_reference.py).

#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "cnnviz/activation_max.h"
#include "cnnviz/error.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/saliency.h"
#include "npy_reference.h"

using namespace cnnviz;

namespace {

ActivationMaxRequest reference_request(const Model& model, const nlohmann::json& meta) {
  ActivationMaxRequest request;
  request.layer = find_layer(model.tree(), meta["layer"].get<std::string>(), "vgg11");
  for (const auto& f : meta["filters"]) request.filters.push_back(f["filter"].get<int64_t>());
  request.input_shape = meta["input"].get<std::vector<int64_t>>();
  request.steps = meta["steps"].get<int>();
  request.lr = meta["lr"].get<float>();
  request.seed = meta["seed"].get<uint64_t>();
  return request;
}

}  // namespace

// VGG11 features.8 is a Conv2d followed by ReLU(inplace=True): the objective is the conv's own output,
// as FlashTorch's forward hook sees it. The filters run as one batch here, one at a time in PyTorch.
TEST_CASE("gradient ascent equals FlashTorch's in PyTorch on the same weights", "[maximize][models]") {
  const auto meta = nlohmann::json::parse(test::read_file(test::model_path("references/activation_max.vgg11.script.json")));
  const FloatArray reference = test::load_reference("activation_max.vgg11.script.npy");
  for (const char* variant : {"script", "trace"}) {
    INFO(variant);
    Model model = load_model(test::model_path(std::string("vgg11.") + variant + ".pt"), DeviceKind::kCpu);
    const ActivationMaxResult r = maximize_activations(model, reference_request(model, meta));
    REQUIRE(r.inputs.size() == meta["filters"].size());
    const int64_t per_filter = reference.shape[1] * reference.shape[2] * reference.shape[3];
    for (std::size_t f = 0; f < r.inputs.size(); ++f) {
      INFO("filter " << meta["filters"][f]["filter"]);
      FloatArray theirs{{reference.shape[1], reference.shape[2], reference.shape[3]},
                        std::vector<float>(reference.values.begin() + static_cast<int64_t>(f) * per_filter,
                                           reference.values.begin() + static_cast<int64_t>(f + 1) * per_filter)};
      CHECK(test::max_abs_diff(r.inputs[f], theirs) <= 1e-4 * test::abs_max(theirs));
      CHECK(r.first[f] == Approx(meta["filters"][f]["first"].get<double>()).epsilon(1e-4));
      CHECK(r.last[f] == Approx(meta["filters"][f]["last"].get<double>()).epsilon(1e-4));
      CHECK(r.last[f] > r.first[f]);
      // FlashTorch's picture: standardize_and_clip(x, saturation 0.15, brightness 0.7).
      CHECK(test::max_abs_diff(r.pictures[f], standardize_and_clip(theirs, 0.15f, 0.7f)) <= 1e-4);
    }
  }
}

TEST_CASE("gradient ascent errors name the problem", "[maximize][models]") {
  Model model = load_model(test::model_path("vgg11.script.pt"), DeviceKind::kCpu);
  ActivationMaxRequest request;
  request.layer = find_layer(model.tree(), "features.0", "vgg11");
  request.input_shape = {1, 3, 32, 32};
  request.steps = 1;
  CHECK_THROWS_WITH(maximize_activations(model, request), Catch::Matchers::Contains("at least one filter"));
  request.filters = {64};
  CHECK_THROWS_WITH(maximize_activations(model, request), Catch::Matchers::Contains("--filters must be 0 to 63"));
  request.filters = {0};
  request.input_shape = {2, 3, 32, 32};
  CHECK_THROWS_WITH(maximize_activations(model, request), Catch::Matchers::Contains("--input must be 1,C,H,W"));
  request.input_shape = {1, 3, 32, 32};
  request.steps = 0;
  CHECK_THROWS_WITH(maximize_activations(model, request), Catch::Matchers::Contains("--steps"));
  request.steps = 1;
  request.max_memory_bytes = 1'000'000;
  try {
    (void)maximize_activations(model, request);
    FAIL("the memory guard let VGG11 through in 1 MB");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kResource);
  }
}

TEST_CASE("the start noise is FlashTorch's range, seeded", "[maximize]") {
  ActivationMaxRequest request;
  request.filters = {0, 1};
  request.input_shape = {1, 3, 8, 8};
  request.normalize = false;
  const FloatArray a = start_noise(request);
  CHECK(a.shape == std::vector<int64_t>{2, 3, 8, 8});
  for (float v : a.values) {
    const float pixel = v * 255.0f;
    CHECK(pixel >= 149.99f);
    CHECK(pixel <= 179.01f);
    CHECK(std::fabs(pixel - std::round(pixel)) < 1e-3f);  // whole 8-bit values, as np.uint8
  }
  CHECK(test::max_abs_diff(start_noise(request), a) == 0);
  request.seed = 1;
  CHECK(test::max_abs_diff(start_noise(request), a) > 0);
}
