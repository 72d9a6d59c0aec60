// Proof that the maps mean something: on held-out synthetic images (one shape on clutter, its box
// known), the Grad-CAM of a small CNN trained on them (models/shapes.py) must peak inside the shape.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cnnviz/cam.h"
#include "cnnviz/image.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/preprocess.h"
#include "test_env.h"

using namespace cnnviz;

TEST_CASE("pointing game: Grad-CAM peaks inside the object in at least 90 percent of images", "[cam][models]") {
  const auto test_set = nlohmann::json::parse(test::read_file(test::model_path("shapes/test.json")));
  const auto python = nlohmann::json::parse(test::read_file(test::model_path("shapes/pointing.json")));
  PreprocessOptions pre;
  pre.height = pre.width = 64;
  for (const char* variant : {"script", "trace"}) {
    Model model = load_model(test::model_path(std::string("shapes_cnn.") + variant + ".pt"), DeviceKind::kCpu);
    for (const std::string& method : cam_method_names()) {
      // ScoreCAM is slow; the methods shapes.py does not compute are checked against pytorch-grad-cam's own
      // maps instead (cam_test.cc).
      if (method == "scorecam" || !python["pointing"]["features.13"].contains(method)) continue;
      CamRequest request;
      request.layer = find_layer(model.tree(), "features.13", "shapes_cnn");
      request.method = parse_cam_method(method);
      int hits = 0, n = 0;
      for (const auto& item : test_set["images"]) {
        request.target.index = item["label"].get<int>();
        const FloatArray input = preprocess_image(load_image(test::model_path("shapes/" + item["file"].get<std::string>())), pre);
        const CamResult r = compute_cam(model, input, request);
        const auto best = std::max_element(r.map.values.begin(), r.map.values.end()) - r.map.values.begin();
        const int x = static_cast<int>(best % 64), y = static_cast<int>(best / 64);
        const auto box = item["box"].get<std::vector<int>>();
        hits += box[0] <= x && x <= box[2] && box[1] <= y && y <= box[3];
        ++n;
      }
      INFO(variant << " " << method << ": " << hits << " of " << n);
      // The same hits as the plain-PyTorch computation of the method on the same file.
      CHECK(hits == python["pointing"]["features.13"][method]["hits"].get<int>());
      if (method == "gradcam") CHECK(hits >= 0.9 * n);
    }
  }
}
