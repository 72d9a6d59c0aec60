// Targets and layouts (src/cnnviz/attribution/target.cc, target_score.cc): the parsers, the layout
// rule, and CAMs of ViTs, Swin and segmentation models against pytorch-grad-cam's targets and reshape
// transforms computed on the same weights (models/target_reference.py, references/targets/cases.json).

#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cnnviz/cam.h"
#include "cnnviz/error.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/runtime.h"
#include "cnnviz/saliency.h"
#include "cnnviz/target.h"
#include "npy_reference.h"
#include "cli_checks.h"

using namespace cnnviz;

namespace {

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::kInternal;
}

}  // namespace

TEST_CASE("parse_target: every form, and bad ones as usage errors", "[target]") {
  CHECK(parse_target("class").kind == TargetKind::kClass);
  CHECK(!parse_target("class").index);
  CHECK(*parse_target("class:24").index == 24);
  CHECK(parse_target("softmax:3").kind == TargetKind::kSoftmax);
  CHECK(!parse_target("softmax").index);
  const Target seg = parse_target("seg:15");
  CHECK((seg.kind == TargetKind::kSegmentation && *seg.index == 15 && seg.mask_path.empty()));
  CHECK(!parse_target("seg:auto").index);
  const Target masked = parse_target("seg:2:dir/mask.png");
  CHECK((*masked.index == 2 && masked.mask_path == "dir/mask.png"));
  CHECK(*parse_target("output:1").index == 1);
  CHECK(*parse_target("output").index == 0);
  CHECK(target_text(masked, 2) == "seg:2:dir/mask.png");
  CHECK(target_text(parse_target("softmax"), 7) == "softmax:7");
  for (const char* bad : {"", "box:1:1,0,0,1", "class:", "class:-1", "class:x", "seg", "seg:", "seg:auto:m.png", "seg:1:", "output:a", "klass:1"}) {
    INFO(bad);
    CHECK(kind_of([&] { parse_target(bad); }) == ErrorKind::kUsage);
  }
}

TEST_CASE("parse_reshape: the kinds and HxW", "[target]") {
  CHECK(parse_reshape("auto").kind == ReshapeKind::kAuto);
  CHECK(parse_reshape("none").kind == ReshapeKind::kNone);
  CHECK(parse_reshape("vit").kind == ReshapeKind::kVit);
  CHECK(parse_reshape("swin").kind == ReshapeKind::kSwin);
  const Reshape grid = parse_reshape("14x12");
  CHECK((grid.kind == ReshapeKind::kGrid && grid.rows == 14 && grid.cols == 12));
  for (const char* bad : {"", "14", "x14", "14x", "0x5", "1x1", "14x14x1", "-2x3", "vitt"}) {
    INFO(bad);
    CHECK(kind_of([&] { parse_reshape(bad); }) == ErrorKind::kUsage);
  }
}

TEST_CASE("read_layout: the auto rule on the layouts torchvision's models have", "[target]") {
  using K = Layout::Kind;
  const Reshape automatic;
  auto read = [&](std::vector<int64_t> shape, int64_t h = 224, int64_t w = 224) { return read_layout(shape, automatic, h, w); };
  // ResNet's layer4, VGG's features: N x C x H x W.
  CHECK(read({1, 512, 7, 7}).kind == K::kNchw);
  CHECK(read({1, 64, 56, 56}).kind == K::kNchw);
  CHECK(read({8, 16, 16, 16}, 32, 32).kind == K::kNchw);  // ambiguous: N x C x H x W wins
  // Swin's stages: channels-last.
  const Layout swin = read({1, 7, 7, 768});
  CHECK((swin.kind == K::kNhwc && swin.rows == 7 && swin.cols == 7 && swin.channels == 768));
  CHECK(read({1, 56, 56, 96}).kind == K::kNhwc);
  CHECK(read({1, 8, 10, 768}, 240, 320).kind == K::kNhwc);
  // ViT tokens: a class token, registers, a non-square image.
  const Layout vit = read({1, 197, 768});
  CHECK((vit.kind == K::kTokens && vit.extra_tokens == 1 && vit.rows == 14 && vit.cols == 14 && vit.channels == 768));
  CHECK(vit.describe({1, 197, 768}) == "[1, 197, 768] read as tokens: 1 leading token dropped, a 14 x 14 grid of 768 channels");
  const Layout registers = read({1, 201, 384}, 224, 224);  // 1 + 4 registers + 14 x 14 (patch 16)
  CHECK((registers.extra_tokens == 5 && registers.rows == 14));
  const Layout wide = read({1, 301, 192}, 240, 320);  // 1 + 15 x 20 (patch 16)
  CHECK((wide.kind == K::kTokens && wide.extra_tokens == 1 && wide.rows == 15 && wide.cols == 20));
  CHECK(read({1, 196, 768}).extra_tokens == 0);
  // Not spatial.
  CHECK(read({1, 1000}).kind == K::kNone);
  CHECK(read({1, 1, 1, 1}).kind == K::kNone);
  CHECK(read({1, 7, 768}).kind == K::kNone);
}

TEST_CASE("read_layout: explicit reshapes, and a reshape that does not fit the layer", "[target]") {
  using K = Layout::Kind;
  CHECK(read_layout({1, 197, 768}, parse_reshape("vit"), 224, 224).rows == 14);
  CHECK(read_layout({1, 7, 7, 768}, parse_reshape("swin"), 224, 224).kind == K::kNhwc);
  CHECK(read_layout({1, 49, 768}, parse_reshape("swin"), 224, 224).kind == K::kTokens);
  const Layout grid = read_layout({1, 17, 32}, parse_reshape("4x4"), 32, 32);
  CHECK((grid.kind == K::kTokens && grid.extra_tokens == 1));
  CHECK(read_layout({1, 512, 7, 7}, parse_reshape("7x7"), 224, 224).kind == K::kNchw);
  CHECK(read_layout({1, 7, 7, 512}, parse_reshape("7x7"), 224, 224).kind == K::kNhwc);
  CHECK(read_layout({1, 7, 7, 768}, parse_reshape("none"), 224, 224).kind == K::kNchw);
  // (Not structured bindings: C++17 lambdas cannot capture them, and the sanitizer build is C++17.)
  for (const auto& bad : std::vector<std::pair<std::vector<int64_t>, std::string>>{
           {{1, 512, 7, 7}, "vit"}, {{1, 198, 768}, "vit"}, {{1, 197, 768}, "none"}, {{1, 50, 768}, "swin"},
           {{1, 1000}, "swin"}, {{1, 15, 32}, "4x4"}, {{1, 512, 7, 7}, "8x8"}}) {
    INFO(bad.first.size() << " " << bad.second);
    CHECK(kind_of([&] { read_layout(bad.first, parse_reshape(bad.second), 224, 224); }) == ErrorKind::kUsage);
  }
}

#if CNNVIZ_TEST_MODERN_MODELS
// Every case of models/target_reference.py, from each file of its model (scripted, traced and the
// torch.export program): the same class resolved and the same map, within 1e-5.
TEST_CASE("CAMs of ViT, Swin and segmentation models equal pytorch-grad-cam's with its targets and reshapes", "[target][cam][models][modern]") {
  const std::string dir = test::model_path("references/targets");
  const nlohmann::json cases = nlohmann::json::parse(test::read_file(dir + "/cases.json"))["cam"];
  REQUIRE(cases.size() >= 11);
  // One thread, as the references were computed: parallel reductions sum in another order, which moves
  // an element-wise map by up to 1e-3 (PyTorch itself, 1 against 2 threads; target_reference.py).
  set_threads(1);
  for (const auto& c : cases) {
    const std::string name = c["model"];
    const FloatArray input = test::load_npy_float32(dir + "/" + c["input"].get<std::string>());
    std::string target_text = c["target"];
    if (const std::size_t mask = target_text.find(":MASK"); mask != std::string::npos) target_text = target_text.substr(0, mask + 1) + dir + "/mask.png";
    for (const char* file : {".script.pt", ".trace.pt", ".pt2"}) {
      INFO(name << file << " " << c["layer"] << " --reshape " << c["reshape"] << " --target " << target_text);
      Model model = load_model(test::model_path(name + file), DeviceKind::kCpu);
      CamRequest request;
      request.layer = find_layer(model.tree(), c["layer"].get<std::string>(), name);
      request.target = parse_target(target_text);
      request.reshape = parse_reshape(c["reshape"].get<std::string>());
      for (const auto& m : c["maps"]) {
        INFO(m["method"]);
        request.method = parse_cam_method(m["method"].get<std::string>());
        const CamResult got = compute_cam(model, input, request);
        CHECK(got.target_class == c["index"].get<int>());
        CHECK(got.low_res.shape == std::vector<int64_t>{c["layer_shape"][2], c["layer_shape"][3]});
        // MaxViT: its files' Grad-CAM is 1.3e-5 from the eager model's (measured on the scripted and
        // traced files; they sum its einsums and attention in another order), the other maps within 1e-5.
        const double tolerance = name == "maxvit_t" ? 3e-5 : 1e-5;
        CHECK(test::max_abs_diff(got.map, test::load_npy_float32(dir + "/" + m["map"].get<std::string>())) <= tolerance);
      }
    }
  }
  set_threads(usable_cores());
}

// saliency --target: the input gradient of the target's score, as PyTorch's autograd gives it on the
// eager model (models/target_reference.py, SALIENCY_CASES).
TEST_CASE("saliency with softmax and seg targets equals PyTorch's input gradient", "[target][saliency][models][modern]") {
  const std::string dir = test::model_path("references/targets");
  const nlohmann::json cases = nlohmann::json::parse(test::read_file(dir + "/cases.json"))["saliency"];
  REQUIRE(cases.size() >= 2);
  set_threads(1);
  for (const auto& c : cases) {
    const std::string name = c["model"];
    const FloatArray input = test::load_npy_float32(dir + "/" + c["input"].get<std::string>());
    const FloatArray expected = test::load_npy_float32(dir + "/" + c["gradient"].get<std::string>());
    for (const char* file : {".script.pt", ".pt2"}) {
      INFO(name << file << " --target " << c["target"]);
      Model model = load_model(test::model_path(name + file), DeviceKind::kCpu);
      SaliencyRequest request;
      request.target = parse_target(c["target"].get<std::string>());
      const SaliencyResult got = compute_saliency(model, input, request);
      CHECK(got.target_class == c["index"].get<int>());
      CHECK(got.scores.empty() == (request.target.kind == TargetKind::kSegmentation));
      CHECK(test::max_abs_diff(got.gradient, expected) <= 1e-5 * std::max(1.0, test::abs_max(expected)));
    }
  }
  set_threads(usable_cores());
}

// The layer pytorch-grad-cam's tutorials pick, found without --layer: a ViT's first norm of its last
// block (the patch tokens' gradients are zero after the last attention), Swin's last channels-last
// output made N x C x H x W by torchvision's own permute.
TEST_CASE("auto layer of transformers", "[target][cam][models][modern]") {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"tiny_vit.script.pt", "encoder.layers.encoder_layer_1.ln_1"}, {"tiny_vit.pt2", "encoder.layers.encoder_layer_1.ln_1"},
      {"vit_b_16.pt2", "encoder.layers.encoder_layer_11.ln_1"}, {"swin_t.pt2", "permute"}};
  for (const auto& [file, layer] : expected) {
    INFO(file);
    Model model = load_model(test::model_path(file), DeviceKind::kCpu);
    const int64_t side = file.rfind("tiny", 0) == 0 ? 32 : 224;
    const FloatArray input{{1, 3, side, side}, std::vector<float>(static_cast<std::size_t>(3 * side * side), 0.5f)};
    CHECK(model.tree().nodes.at(static_cast<std::size_t>(auto_cam_layer(model, input))).path == layer);
  }
}

TEST_CASE("gradcam: targets and reshapes that do not fit, and a trace without attention's derivative", "[target][cli][models][modern]") {
  const std::string photo = test::model_path("references/photo.png");
  test::TempDir tmp;
  const std::string out = tmp.file("out.png");
  auto check = [&](std::vector<std::string> args, int code, std::vector<std::string> parts) {
    args.push_back("-o");
    args.push_back(out);
    test::check_error(args, code, parts);
    CHECK_FALSE(std::ifstream(out).good());
  };
  const std::string vit = test::model_path("tiny_vit.script.pt"), seg = test::model_path("lraspp_mobilenet_v3_large.pt2");
  check({"gradcam", vit, photo, "--input", "1,3,32,32", "--target", "seg:1"}, 5, {"not class maps [N, K, H, W]", "--target class:K"});
  check({"gradcam", seg, photo, "--target", "class:1"}, 5, {"not class scores [N, K]", "--target seg:K"});
  check({"gradcam", seg, photo, "--target", "seg:21"}, 2, {"--target seg:21 is out of range", "21 classes (0 to 20)"});
  check({"gradcam", vit, photo, "--input", "1,3,32,32", "--target", "softmax:10"}, 2, {"--target softmax:10 is out of range"});
  check({"gradcam", vit, photo, "--input", "1,3,32,32", "--target", "box:1:0,0,8,8"}, 5, {"not a detector's boxes", "CAMs of a box explain detectors"});
  check({"gradcam", vit, photo, "--input", "1,3,32,32", "--target", "bbox:1"}, 2, {"'bbox:1' is not a target"});
  check({"gradcam", seg, photo, "--target", "seg:1", "--top-k", "2"}, 2, {"--top-k ranks the classes"});
  check({"gradcam", seg, photo, "--target", "seg:auto", "--metrics", "drop"}, 2, {"--metrics take class, softmax and output targets; not --target seg:auto"});
  check({"gradcam", vit, photo, "--input", "1,3,32,32", "--layer", "conv_proj", "--reshape", "vit"}, 2, {"[1, 32, 4, 4] is not ViT tokens"});
  check({"gradcam", vit, photo, "--input", "1,3,32,32", "--layer", "encoder.layers.encoder_layer_1.ln_1", "--reshape", "5x5"}, 2, {"is not 5 x 5 tokens"});
  check({"gradcam", test::model_path("tiny_vit.nograd.trace.pt"), photo, "--input", "1,3,32,32", "--layer", "conv_proj"}, 4,
        {"no derivative for aten::_native_multi_head_attention", "torch.no_grad()", "torch.jit.script or torch.export"});
}
#endif
