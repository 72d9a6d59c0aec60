// Saliency maps against PyTorch computing the same gradients on the same .pt files
// (models/saliency_reference.py via models/references.py), and proof that they mean something on the
// trained shapes model.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/saliency.h"
#include "npy_reference.h"

using namespace cnnviz;

TEST_CASE("saliency names parse and the others are refused", "[saliency]") {
  CHECK(parse_saliency_method("smoothgrad") == SaliencyMethod::kSmoothGrad);
  CHECK(parse_saliency_reduce("max") == SaliencyReduce::kMax);
  CHECK(parse_saliency_scale("standardize") == SaliencyScale::kStandardize);
  CHECK(parse_saliency_method("guided-flashtorch") == SaliencyMethod::kGuidedFlashTorch);
  CHECK_THROWS_WITH(parse_saliency_method("deconvnet"), Catch::Matchers::Contains("vanilla, smoothgrad, gradxinput, guided, guided-flashtorch"));
  CHECK_THROWS_WITH(parse_saliency_reduce("sum"), Catch::Matchers::Contains("--reduce 'sum'"));
  CHECK_THROWS_WITH(parse_saliency_scale(""), Catch::Matchers::Contains("--scale"));
}

// Every method on VGG11 and ResNet18, scripted and traced: the gradient, the abs-max map and
// FlashTorch's max map. SmoothGrad's copies run 4 per forward here and one at a time in PyTorch. The
// guided references come from the eager torchvision model with the file's weights and its ReLU
// modules replaced, as pytorch-grad-cam and FlashTorch do it.
TEST_CASE("saliency equals PyTorch's input gradients on the same file", "[saliency][models]") {
  const FloatArray input = test::load_reference("photo.png.direct_bilinear.npy");
  struct Case {
    const char* model;
    const char* method;
    std::optional<int> target;
  };
  const Case cases[] = {{"vgg11", "vanilla", 24},
                        {"vgg11", "smoothgrad", 24},
                        {"vgg11", "gradxinput", std::nullopt},
                        {"resnet18", "vanilla", std::nullopt},
                        {"resnet18", "smoothgrad", 24},
                        {"vgg11", "guided", 24},
                        {"vgg11", "guided-flashtorch", 24},
                        {"resnet18", "guided", std::nullopt}};
  for (const char* variant : {"script", "trace"}) {
    for (const Case& c : cases) {
      INFO(c.model << "." << variant << " " << c.method);
      Model model = load_model(test::model_path(std::string(c.model) + "." + variant + ".pt"), DeviceKind::kCpu);
      const std::string stem = std::string("saliency.") + c.model + "." + variant + "." + c.method + "." +
                               (c.target ? "c" + std::to_string(*c.target) : std::string("top1"));
      const auto meta = nlohmann::json::parse(test::read_file(test::model_path("references/" + stem + ".json")));
      SaliencyRequest request;
      request.method = parse_saliency_method(c.method);
      request.target.index = c.target;
      request.samples = meta.value("samples", 50);
      request.noise = meta.value("noise", 0.15f);
      request.seed = meta.value("seed", 0u);
      request.batch_size = 4;
      const SaliencyResult r = compute_saliency(model, input, request);
      CHECK(r.target_class == meta["class"].get<int>());
      const FloatArray gradient = test::load_reference(stem + ".grad.npy");
      CHECK(test::max_abs_diff(r.gradient, gradient) <= 1e-4 * test::abs_max(gradient));
      CHECK(test::max_abs_diff(r.map, test::load_reference(stem + ".map.npy")) <= 1e-4);

      request.reduce = SaliencyReduce::kMax;
      request.scale = SaliencyScale::kStandardize;
      CHECK(test::max_abs_diff(compute_saliency(model, input, request).map, test::load_reference(stem + ".flashtorch.npy")) <= 1e-4);
    }
  }
}

TEST_CASE("SmoothGrad is seeded, and with one noiseless copy it is the plain gradient", "[saliency][models]") {
  FloatArray input = test::load_reference("photo.png.direct_bilinear.npy");
  Model model = load_model(test::model_path("resnet18.script.pt"), DeviceKind::kCpu);
  SaliencyRequest request;
  request.target.index = 3;
  const FloatArray vanilla = compute_saliency(model, input, request).gradient;
  request.method = SaliencyMethod::kSmoothGrad;
  request.samples = 1;
  request.noise = 0;
  CHECK(test::max_abs_diff(compute_saliency(model, input, request).gradient, vanilla) <= 1e-6 * test::abs_max(vanilla));
  request.samples = 3;
  request.noise = 0.1f;
  const FloatArray first = compute_saliency(model, input, request).gradient;
  CHECK(test::max_abs_diff(compute_saliency(model, input, request).gradient, first) == 0);
  request.seed = 1;
  CHECK(test::max_abs_diff(compute_saliency(model, input, request).gradient, first) > 1e-3 * test::abs_max(first));
}

TEST_CASE("saliency errors name the problem", "[saliency][models]") {
  const FloatArray input = test::load_reference("photo.png.direct_bilinear.npy");
  Model model = load_model(test::model_path("resnet18.script.pt"), DeviceKind::kCpu);
  SaliencyRequest request;
  request.target.index = 1000;
  CHECK_THROWS_WITH(compute_saliency(model, input, request), Catch::Matchers::Contains("--class 1000 is out of range"));
  request.target.index = 0;
  request.samples = 0;
  CHECK_THROWS_WITH(compute_saliency(model, input, request), Catch::Matchers::Contains("--samples"));
  request.samples = 1;
  request.max_memory_bytes = 20'000'000;
  try {
    (void)compute_saliency(model, input, request);
    FAIL("the memory guard let a ResNet18 backward through in 20 MB");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kResource);
  }
  FloatArray two = input;
  two.shape[0] = 2;
  two.values.insert(two.values.end(), input.values.begin(), input.values.end());
  CHECK_THROWS_WITH(compute_saliency(model, two, {}), Catch::Matchers::Contains("one image"));

  // A frozen file has no module objects left, so no ReLU modules to guide (the vanilla map works).
  Model frozen = load_model(test::model_path("resnet18_frozen.pt"), DeviceKind::kCpu);
  SaliencyRequest guided;
  guided.method = SaliencyMethod::kGuided;
  try {
    (void)compute_saliency(frozen, input, guided);
    FAIL("guided backpropagation ran without ReLU modules");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kModel);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("no torch.nn.ReLU modules"));
  }
  CHECK(compute_saliency(frozen, input, {}).gradient.shape == std::vector<int64_t>{3, 224, 224});
}

// The shapes model (models/shapes.py) was trained to name the one shape on clutter: its saliency must
// be stronger on the shape than around it.
TEST_CASE("saliency is stronger inside the object than outside it in at least 90 percent of images", "[saliency][models]") {
  const auto test_set = nlohmann::json::parse(test::read_file(test::model_path("shapes/test.json")));
  PreprocessOptions pre;
  pre.height = pre.width = 64;
  Model model = load_model(test::model_path("shapes_cnn.script.pt"), DeviceKind::kCpu);
  for (const SaliencyMethod method : {SaliencyMethod::kVanilla, SaliencyMethod::kGuided}) {
    int stronger = 0, n = 0;
    for (const auto& item : test_set["images"]) {
      SaliencyRequest request;
      request.method = method;
      request.target.index = item["label"].get<int>();
      const FloatArray input = preprocess_image(load_image(test::model_path("shapes/" + item["file"].get<std::string>())), pre);
      const SaliencyResult r = compute_saliency(model, input, request);
      const auto box = item["box"].get<std::vector<int>>();
      double inside = 0, outside = 0;
      int n_inside = 0;
      for (int y = 0; y < 64; ++y) {
        for (int x = 0; x < 64; ++x) {
          const float v = r.map.values[static_cast<std::size_t>(y * 64 + x)];
          const bool in = box[0] <= x && x <= box[2] && box[1] <= y && y <= box[3];
          (in ? inside : outside) += v;
          n_inside += in;
        }
      }
      stronger += inside / n_inside > 1.5 * outside / (64 * 64 - n_inside);
      ++n;
    }
    INFO(saliency_method_names()[static_cast<std::size_t>(method)] << ": " << stronger << " of " << n);
    CHECK(stronger >= 0.9 * n);
  }
}
