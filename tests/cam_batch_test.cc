// attribution/cam_batch and report/cam_report: the batch loop as a library function, and its JSON lines.

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "cnnviz/cam_batch.h"
#include "cnnviz/cam_report.h"
#include "cnnviz/image_run.h"
#include "npy_reference.h"
#include "test_env.h"

using namespace cnnviz;
namespace fs = std::filesystem;

TEST_CASE("run_cam_batch writes each overlay, reports a broken image and resumes", "[cam_batch][models]") {
  test::TempDir dir;
  fs::create_directories(dir.file("in"));
  fs::copy_file(test::model_path("references/photo.png"), dir.file("in/a.png"));
  fs::copy_file(test::model_path("references/gray.png"), dir.file("in/b.png"));
  std::ofstream(dir.file("in/c.png")) << "not a png";
  const std::vector<BatchItem> items = list_batch_items(dir.file("in"), dir.file("out"));
  REQUIRE(items.size() == 3);

  Model model = load_model(test::model_path("tiny_cnn.script.pt"), DeviceKind::kCpu);
  CamBatchRequest request;
  request.pre.width = request.pre.height = 32;
  request.batch_size = 2;
  request.cam.max_memory_bytes = int64_t{1} << 30;
  std::vector<CamBatchEvent> events;
  std::vector<FloatArray> maps;
  int chunks = 0;
  const CamBatchTotals totals = run_cam_batch(
      model, items, request,
      [&](const CamBatchEvent& e) {
        events.push_back(e);
        if (e.cam) maps.push_back(e.cam->map);
      },
      [&](const CamBatchTotals&) { ++chunks; });
  CHECK(totals.written == 2);
  CHECK(totals.failed == 1);
  CHECK(totals.skipped == 0);
  CHECK(chunks == 1);  // a and b in one forward; c fails while the next chunk is filled, which stays empty
  CHECK(model.tree().nodes[static_cast<std::size_t>(totals.layer)].path == "features.7");  // the auto layer, as the CLI reports it
  REQUIRE(events.size() == 3);
  CHECK(events[0].status == CamBatchEvent::Status::kOk);
  CHECK(events[0].output == dir.file("out/a.png"));
  CHECK(events[1].status == CamBatchEvent::Status::kOk);
  CHECK(fs::exists(events[0].output));
  CHECK(fs::exists(events[1].output));
  CHECK(events[2].status == CamBatchEvent::Status::kError);
  CHECK(events[2].item->image == dir.file("in/c.png"));
  CHECK_FALSE(fs::exists(dir.file("out/c.png")));

  // Each map of the batch is the map of its image alone.
  const std::vector<std::string> images = {dir.file("in/a.png"), dir.file("in/b.png")};
  for (std::size_t i = 0; i < images.size(); ++i) {
    CamRequest one;
    const ImageCams alone = run_cam_image(model, load_image(images[i]), request.pre, one);
    CHECK(alone.layer == totals.layer);
    CHECK(test::max_abs_diff(alone.cams[0].map, maps[i]) < 1e-5f);
  }

  // A second run skips what is done and reports the broken image again.
  events.clear();
  const CamBatchTotals again = run_cam_batch(model, items, request, [&](const CamBatchEvent& e) { events.push_back(e); });
  CHECK(again.skipped == 2);
  CHECK(again.failed == 1);
  CHECK(again.written == 0);
}

TEST_CASE("cam_batch_line: the fields of one line of gradcam's batch report", "[cam_batch]") {
  const BatchItem item{"in/a.png", "a.png", "out/a.png"};
  CamResult cam;
  cam.scores = {0.5f, 3.0f, -1.0f};
  cam.target_class = 2;
  cam.target = "class:2";
  const std::vector<std::string> labels = {"zero", "one", "two"};
  CamBatchEvent ok{&item, CamBatchEvent::Status::kOk, "out/a.top2.png", 2, &cam, ""};
  const nlohmann::ordered_json line = cam_batch_line(ok, labels);
  CHECK(line["image"] == "in/a.png");
  CHECK(line["output"] == "out/a.top2.png");
  CHECK(line["status"] == "ok");
  CHECK(line["rank"] == 2);
  CHECK(line["class"] == 2);
  CHECK(line["label"] == "two");
  CHECK(line["top1"] == 1);
  // softmax([0.5, 3, -1])[1]
  const double p = std::exp(3.0) / (std::exp(0.5) + std::exp(3.0) + std::exp(-1.0));
  CHECK(line["top1_probability"].get<double>() == Approx(p).epsilon(1e-6));
  CHECK_FALSE(line.contains("message"));

  const CamBatchEvent failed{&item, CamBatchEvent::Status::kError, "out/a.png", 0, nullptr, "'in/a.png' is not a PNG"};
  const nlohmann::ordered_json error = cam_batch_line(failed, labels);
  CHECK(error["status"] == "error");
  CHECK(error["message"] == "'in/a.png' is not a PNG");
  CHECK_FALSE(error.contains("rank"));
  CHECK_FALSE(error.contains("class"));
  CHECK(batch_status_name(CamBatchEvent::Status::kSkipped) == "skipped");
}
