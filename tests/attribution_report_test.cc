// report/attribution_report: what gradcam, saliency and maximize print, from plain records.

#include <catch2/catch.hpp>

#include <cmath>

#include "cnnviz/attribution_report.h"

using namespace cnnviz;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

ModuleNode node(const std::string& path, const std::string& cls) {
  ModuleNode n;
  n.path = path;
  n.class_name = cls;
  return n;
}

CamResult cam(int target, std::vector<float> map_values) {
  CamResult c;
  c.map = FloatArray{{2, 2}, std::move(map_values)};
  c.low_res = FloatArray{{1, 1}, {1.0f}};
  c.scores = {1.0f, 2.0f, 0.0f};
  c.target_class = target;
  return c;
}

}  // namespace

TEST_CASE("cam_image_json and cam_image_text: one image, two ranks", "[report]") {
  const CamImageReport report{"m.pt", "in.png", "gradcam", node("layer4", "Sequential"),
                              {cam(1, {0, 0.5f, 1, 0.5f}), cam(0, {1, 1, 1, 1})},
                              {{"o.top1.png"}, {"o.top2.png", "h.top2.png"}},
                              {"cat", "dog", "owl"},
                              {},
                              {}};
  const nlohmann::ordered_json doc = cam_image_json(report);
  CHECK(doc["layer"] == "layer4");
  CHECK(doc["layer_class"] == "Sequential");
  REQUIRE(doc["cams"].size() == 2);
  CHECK(doc["cams"][0]["rank"] == 1);
  CHECK(doc["cams"][0]["class"] == 1);
  CHECK(doc["cams"][0]["label"] == "dog");
  CHECK(doc["cams"][0]["map"]["mean"].get<double>() == Approx(0.5));
  CHECK(doc["cams"][1]["outputs"] == std::vector<std::string>{"o.top2.png", "h.top2.png"});
  CHECK(doc["outputs"] == std::vector<std::string>{"o.top1.png", "o.top2.png", "h.top2.png"});
  REQUIRE(doc["predictions"].size() == 3);  // top 5 of 3 classes
  CHECK(doc["predictions"][0]["class"] == 1);
  const double p = std::exp(2.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(0.0));
  CHECK(doc["predictions"][0]["probability"].get<double>() == Approx(p).epsilon(1e-6));

  const std::string text = cam_image_text(report);
  CHECK_THAT(text, StartsWith("layer layer4 (Sequential), classes 1 (dog), 0 (cat)\n"));
  CHECK_THAT(text, Contains("dog") && Contains("%"));
}

TEST_CASE("saliency_json and saliency_text", "[report]") {
  SaliencyResult r;
  r.map = FloatArray{{1, 2}, {0.25f, 0.75f}};
  r.gradient = FloatArray{{1, 1, 2}, {-3.0f, 2.0f}};
  r.scores = {0.0f, 5.0f};
  r.target_class = 1;
  const SaliencyReport report{"m.pt", "in.png", "vanilla", "abs-max", "minmax", r, {"s.png"}, {}};
  const nlohmann::ordered_json doc = saliency_json(report);
  CHECK(doc["class"] == 1);
  CHECK(doc["label"] == "");
  CHECK(doc["map"]["mean"].get<double>() == Approx(0.5));
  CHECK(doc["gradient"]["abs_max"].get<double>() == Approx(3.0));
  CHECK(doc["gradient"]["shape"] == std::vector<int>{1, 1, 2});
  CHECK(doc["outputs"] == std::vector<std::string>{"s.png"});
  CHECK_THAT(saliency_text(report), StartsWith("vanilla, class 1\n"));
}

TEST_CASE("maximize_json and maximize_text", "[report]") {
  ActivationMaxResult r;
  r.first = {0.5f, -1.0f};
  r.last = {2.0f, 3.25f};
  const MaximizeReport report{"m.pt", node("features.0", "Conv2d"), 30, 1.0f, 7, {4, 9}, r, {"g.png"}};
  const nlohmann::ordered_json doc = maximize_json(report);
  CHECK(doc["layer"] == "features.0");
  CHECK(doc["seed"] == 7);
  REQUIRE(doc["filters"].size() == 2);
  CHECK(doc["filters"][1]["filter"] == 9);
  CHECK(doc["filters"][1]["last"].get<double>() == Approx(3.25));
  const std::string text = maximize_text(report);
  CHECK_THAT(text, StartsWith("layer features.0 (Conv2d), 30 steps:"));
  CHECK_THAT(text, Contains("filter     9       -1.0000 ->       3.2500"));
}
