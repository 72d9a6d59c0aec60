// `cnnviz gradcam` as a user runs it: one image, and batches of a directory or a list.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli_checks.h"
#include "cnnviz/image.h"
#include "cnnviz/npy.h"
#include "overlay_checks.h"
#include "test_env.h"

using Catch::Matchers::Contains;
using cnnviz::test::check_error;
using cnnviz::test::model_path;
using cnnviz::test::run_cnnviz;
using cnnviz::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("cli gradcam: the reference overlay from one command", "[cli][cam][models]") {
  TempDir dir;
  const std::string input = cnnviz::test::golden_path("cam/input.png");
  auto r = run_cnnviz({"gradcam", model_path("vgg11.script.pt"), input, "--class", "24", "--layer", "features.20", "-o",
                       dir.file("o.png"), "--heatmap", dir.file("h.png"), "--raw", dir.file("cam.npy")});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("layer features.20 (MaxPool2d), class 24 (great grey owl)") && Contains("bullfrog"));
  const cnnviz::Image ours = cnnviz::load_image(dir.file("o.png"));
  const cnnviz::Image theirs = cnnviz::load_image(cnnviz::test::golden_path("cam/vgg11_features-1_gradcam_c24.png"));
  cnnviz::test::check_overlay_matches(ours, theirs);
  CHECK(cnnviz::decode_npy(cnnviz::test::read_file(dir.file("cam.npy"))).shape == std::vector<int64_t>{224, 224});

  r = run_cnnviz({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["layer"] == "features.7");  // auto: the last layer with a spatial output
  CHECK(doc["predictions"].size() == 5);

  // auto on a ResNet: layer4 returns after the ReLU inside its last block, and is the one.
  r = run_cnnviz({"gradcam", model_path("resnet18.trace.pt"), input, "--format", "json"});
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["layer"] == "layer4");
  check_error({"gradcam", model_path("vgg11.script.pt"), input, "--input", "1,3,224,224", "--max-memory", "50M", "--format", "json"}, 7,
              {"needs about", "--max-memory"});
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "-o", "-", "--format", "json"}, 2,
              {"only one of -o, --heatmap and --raw can be '-'"});
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "--class", "10", "--format", "json"}, 2,
              {"--class 10 is out of range", "0 to 9"});
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "--layer", "classifier.1", "--format", "json"}, 5,
              {"no spatial layout"});
  check_error({"gradcam", model_path("edge.script.pt"), input, "--input", "1,3,8,8", "--layer", "unused", "--format", "json"}, 4,
              {"did not run"});
  check_error({"gradcam", model_path("unet.trace.pt"), model_path("references/gray.png"), "--input", "1,1,188,188", "--layer",
               "conv1_1", "--format", "json"}, 5, {"is [1, 2, 4, 4], not class scores [N, K]"});
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32"}, 2, {"nothing to write"});
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "--method", "magic", "-o", dir.file("x.png")}, 2,
              {"--method 'magic'"});
  CHECK_FALSE(fs::exists(dir.file("x.png")));
}

TEST_CASE("cli gradcam: batches are resumable and sharded and report failures per image", "[cli][cam][models]") {
  TempDir dir;
  const std::string images = dir.file("images");
  fs::create_directories(images + "/sub");
  fs::copy_file(model_path("references/photo.png"), images + "/a.png");
  fs::copy_file(model_path("references/photo.jpg"), images + "/sub/b.jpg");
  fs::copy_file(model_path("references/gray.png"), images + "/c.png");
  { std::ofstream(images + "/d.png") << "not an image"; }
  const std::string out = dir.file("out");
  const std::vector<std::string> base = {"gradcam", model_path("tiny_cnn.script.pt"), images, "--input", "1,3,32,32", "-o", out,
                                         "--batch-size", "2", "--format", "json"};
  auto r = run_cnnviz(base);
  CHECK(r.exit_code == 11);  // d.png failed; the others are written
  CHECK_THAT(r.err, Contains("1 of 4 images failed"));
  auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0]["status"] == "ok");
  CHECK(lines[0]["output"] == out + "/a.png");
  CHECK(lines[1]["status"] == "ok");
  CHECK(lines[2]["status"] == "error");
  CHECK(lines[3]["output"] == out + "/sub/b.png");
  CHECK(fs::exists(out + "/sub/b.png"));
  CHECK_FALSE(fs::exists(out + "/d.png"));

  // A second run skips what is done.
  fs::remove(images + "/d.png");
  r = run_cnnviz(base);
  CHECK(r.exit_code == 0);
  lines = json_lines(r.out);
  REQUIRE(lines.size() == 3);
  for (const auto& l : lines) CHECK(l["status"] == "skipped");

  // Shards split the sorted list: 0/2 takes a.png and sub/b.jpg.
  std::vector<std::string> shard = base;
  shard[6] = dir.file("out2");
  shard.insert(shard.end(), {"--shard", "0/2"});
  r = run_cnnviz(shard);
  REQUIRE(r.exit_code == 0);
  lines = json_lines(r.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["image"] == images + "/a.png");
  CHECK(lines[1]["image"] == images + "/sub/b.jpg");
  shard.back() = "2/2";
  check_error(shard, 2, {"--shard '2/2'"});

  // Lists may not climb out of the output directory, and two images may not share an output.
  const std::string list = dir.file("list.txt");
  { std::ofstream(list) << "images/a.png\n../escape.png\n"; }
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), list, "--input", "1,3,32,32", "-o", dir.file("o3")}, 2,
              {"'../escape.png' would put its output outside"});
  fs::copy_file(model_path("references/photo.jpg"), images + "/a.jpg");
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), images, "--input", "1,3,32,32", "-o", dir.file("o4")}, 2,
              {"would both write"});
}

TEST_CASE("cli gradcam: --index writes a page of the batch's overlays beside them", "[cli][cam][models]") {
  TempDir dir;
  const std::string images = dir.file("images");
  fs::create_directories(images + "/sub");
  fs::copy_file(model_path("references/photo.png"), images + "/a.png");
  fs::copy_file(model_path("references/photo.jpg"), images + "/sub/b.jpg");
  { std::ofstream(images + "/d.png") << "not an image"; }
  const std::string out = dir.file("out");
  auto r = run_cnnviz({"gradcam", model_path("tiny_cnn.script.pt"), images, "--input", "1,3,32,32", "-o", out, "--index", "--top-k", "2"});
  CHECK(r.exit_code == 11);
  CHECK_THAT(r.out, Contains(out + "/index.html\n"));
  const std::string page = cnnviz::test::read_file(out + "/index.html");
  CHECK_THAT(page, Contains("4 overlays written by this run, 0 skipped (already there), 1 failed."));
  // Every overlay is linked by its path relative to the page, and that file exists.
  int shown = 0;
  for (const std::string name : {"a.top1.png", "a.top2.png", "sub/b.top1.png", "sub/b.top2.png"}) {
    CHECK_THAT(page, Contains("<img src=\"" + name + "\""));
    CHECK(fs::exists(out + "/" + name));
    ++shown;
  }
  CHECK(shown == 4);
  CHECK_THAT(page, Contains("d.png</code></td><td>error</td>"));
  CHECK_THAT(page, Contains("top-2: "));
  CHECK(page.find("<script") == std::string::npos);

  // A shard writes its own page, so that shards in one folder do not overwrite each other's.
  r = run_cnnviz({"gradcam", model_path("tiny_cnn.script.pt"), images, "--input", "1,3,32,32", "-o", out, "--index", "--top-k", "2", "--shard", "0/3"});
  CHECK(fs::exists(out + "/index-0-of-3.html"));
}

TEST_CASE("cli gradcam: a batched run gives the same maps as one image at a time", "[cli][cam][models]") {
  TempDir dir;
  const std::string list = dir.file("list.txt");
  {
    std::ofstream l(list);
    l << model_path("references/photo.png") << "\n" << model_path("references/gray.png") << "\n";
  }
  REQUIRE(run_cnnviz({"gradcam", model_path("resnet18.script.pt"), list, "-o", dir.file("batch"), "--batch-size", "2"}).exit_code == 0);
  for (const char* name : {"photo", "gray"}) {
    INFO(name);
    REQUIRE(run_cnnviz({"gradcam", model_path("resnet18.script.pt"), model_path(std::string("references/") + name + ".png"), "-o",
                        dir.file(std::string(name) + ".png")}).exit_code == 0);
    const std::string batched = dir.file("batch") + model_path(std::string("references/") + name + ".png");
    const cnnviz::Image a = cnnviz::load_image(fs::path(batched).replace_extension(".png").string());
    const cnnviz::Image b = cnnviz::load_image(dir.file(std::string(name) + ".png"));
    REQUIRE(a.pixels.size() == b.pixels.size());
    int worst = 0;
    for (std::size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
    CHECK(worst <= 2);
  }
}

TEST_CASE("cli gradcam: --top-k writes one map per class, named by rank", "[cli][cam][models]") {
  TempDir dir;
  const std::string input = cnnviz::test::golden_path("cam/input.png");
  auto r = run_cnnviz({"gradcam", model_path("vgg11.script.pt"), input, "--layer", "features.20", "--top-k", "2", "-o",
                       dir.file("o.png"), "--raw", dir.file("cam.npy"), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["cams"].size() == 2);
  CHECK(doc["cams"][0]["class"] == doc["predictions"][0]["class"]);
  CHECK(doc["cams"][1]["class"] == doc["predictions"][1]["class"]);
  CHECK(doc["cams"][1]["outputs"] == nlohmann::json({dir.file("o.top2.png"), dir.file("cam.top2.npy")}));
  CHECK(doc["outputs"].size() == 4);
  // Rank 2's map is the map of its class alone.
  REQUIRE(run_cnnviz({"gradcam", model_path("vgg11.script.pt"), input, "--layer", "features.20", "--class",
                      std::to_string(doc["cams"][1]["class"].get<int>()), "--raw", dir.file("single.npy")}).exit_code == 0);
  CHECK(cnnviz::test::read_file(dir.file("single.npy")) == cnnviz::test::read_file(dir.file("cam.top2.npy")));
  CHECK_FALSE(fs::exists(dir.file("o.png")));

  check_error({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "--top-k", "2", "--class", "1", "-o",
               dir.file("x.png")}, 2, {"--class excludes --top-k"});
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "--top-k", "11", "-o", dir.file("x.png")}, 2,
              {"--top-k 11 is more than the model's 10 classes"});
  check_error({"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "--top-k", "2", "-o", "-"}, 2,
              {"--top-k writes one file per class"});
  check_error({"gradcam", model_path("probed.script.pt"), input, "--input", "1,3,16,16", "--layer", "probe", "-o", dir.file("x.png")}, 4,
              {"no gradient path"});
  CHECK_FALSE(fs::exists(dir.file("x.png")));
  CHECK_FALSE(fs::exists(dir.file("x.top1.png")));

  // Batch mode: every rank of every image, resumable as a whole.
  const std::string images = dir.file("images");
  fs::create_directories(images);
  fs::copy_file(model_path("references/photo.png"), images + "/a.png");
  fs::copy_file(model_path("references/gray.png"), images + "/b.png");
  const std::vector<std::string> batch = {"gradcam", model_path("tiny_cnn.script.pt"), images, "--input", "1,3,32,32", "-o",
                                          dir.file("out"), "--top-k", "3", "--format", "json"};
  r = run_cnnviz(batch);
  REQUIRE(r.exit_code == 0);
  auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 6);
  CHECK(lines[2]["output"] == dir.file("out") + "/a.top3.png");
  CHECK(lines[2]["rank"] == 3);
  CHECK(lines[5]["image"] == images + "/b.png");
  fs::remove(dir.file("out") + "/b.top2.png");
  lines = json_lines(run_cnnviz(batch).out);
  REQUIRE(lines.size() == 4);  // a skipped, b redone
  CHECK(lines[0]["status"] == "skipped");
  CHECK(lines[1]["status"] == "ok");
  CHECK(fs::exists(dir.file("out") + "/b.top2.png"));
}

// FullGrad, ShapleyCAM and FinerCAM from the command line (their maps are checked against
// pytorch-grad-cam's in cam_test.cc), and FinerCAM's options.
TEST_CASE("cli gradcam: fullgrad, shapleycam and finercam, and FinerCAM's options", "[cli][cam][models]") {
  TempDir dir;
  const std::string input = cnnviz::test::golden_path("cam/input.png");
  const std::vector<std::string> base = {"gradcam", model_path("tiny_cnn.script.pt"), input, "--input", "1,3,32,32", "--class", "3"};
  for (const char* method : {"fullgrad", "shapleycam", "finercam"}) {
    INFO(method);
    std::vector<std::string> args = base;
    args.insert(args.end(), {"--method", method, "--raw", dir.file(std::string(method) + ".npy")});
    REQUIRE(run_cnnviz(args).exit_code == 0);
    CHECK(cnnviz::decode_npy(cnnviz::test::read_file(dir.file(std::string(method) + ".npy"))).shape == std::vector<int64_t>{32, 32});
  }
  std::vector<std::string> finer = base;
  finer.insert(finer.end(), {"--method", "finercam", "--finer-alpha", "0.6", "--finer-compare", "1,4", "--finer-base", "layercam", "--raw",
                             dir.file("finer.npy")});
  REQUIRE(run_cnnviz(finer).exit_code == 0);
  CHECK(cnnviz::test::read_file(dir.file("finer.npy")) != cnnviz::test::read_file(dir.file("finercam.npy")));
  finer = base;
  finer.insert(finer.end(), {"--method", "finercam", "--finer-compare", "1,10", "--format", "json"});
  check_error(finer, 2, {"--finer-compare 10 is out of range", "0 to 9"});
  finer = base;
  finer.insert(finer.end(), {"--method", "finercam", "--finer-base", "ablationcam", "--format", "json"});
  check_error(finer, 2, {"--finer-base ablationcam: FinerCAM's base must be"});
  finer = base;
  finer.insert(finer.end(), {"--method", "finercam", "--finer-base", "magic", "--format", "json"});
  check_error(finer, 2, {"--finer-base 'magic' is not known"});
}

TEST_CASE("cli gradcam: a batch does not resume into outputs made with other settings", "[cli][cam][models]") {
  TempDir dir;
  const std::string images = dir.file("images");
  fs::create_directories(images);
  fs::copy_file(model_path("references/photo.png"), images + "/a.png");
  std::vector<std::string> base = {"gradcam", model_path("tiny_cnn.script.pt"), images, "--input", "1,3,32,32", "-o", dir.file("out")};
  REQUIRE(run_cnnviz(base).exit_code == 0);
  std::vector<std::string> other = base;
  other.insert(other.end(), {"--method", "layercam", "--image-weight", "0.3"});
  check_error(other, 2, {"holds overlays made with other settings (method, image_weight)", "--overwrite"});
  const std::string before = cnnviz::test::read_file(dir.file("out") + "/a.png");
  other.push_back("--overwrite");
  REQUIRE(run_cnnviz(other).exit_code == 0);
  CHECK(cnnviz::test::read_file(dir.file("out") + "/a.png") != before);
  // The record now holds the new settings: resuming with them skips, the old ones are refused.
  other.pop_back();
  CHECK(run_cnnviz(other).exit_code == 0);
  check_error(base, 2, {"other settings"});
}

// --metrics: one image's figures in the JSON document and the text, a batch's lines and its sums (which
// add up over shards); the batch's figures equal the single image's.
TEST_CASE("cli gradcam: --metrics per map and their sums over a batch", "[cli][cam][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  const std::string photo = model_path("references/photo.png"), gray = model_path("references/gray.png");
  const auto one = run_cnnviz({"gradcam", model, photo, "--input", "1,3,32,32", "--metrics", "change,drop,increase", "--format", "json"});
  INFO(one.err);
  REQUIRE(one.exit_code == 0);
  const auto doc = nlohmann::json::parse(one.out);
  const auto& m = doc["cams"][0]["metrics"];
  CHECK(m["change"].get<double>() == Approx(m["score_after"].get<double>() - m["score"].get<double>()).margin(1e-6));
  CHECK(m["drop"].get<double>() == std::max(0.0, -m["change"].get<double>()));
  CHECK(m["increase"].get<double>() == (m["change"].get<double>() > 0 ? 1.0 : 0.0));
  CHECK(m["score"].get<double>() == Approx(doc["cams"][0]["target_score"].get<double>()));
  const auto text = run_cnnviz({"gradcam", model, photo, "--input", "1,3,32,32", "--metrics", "drop", "-o", dir.file("o.png")});
  CHECK(text.out.find("metrics: drop ") != std::string::npos);

  const std::string list = dir.file("list.txt");
  {
    std::ofstream l(list);
    l << photo << "\n" << gray << "\n";
  }
  const auto batch = run_cnnviz({"gradcam", model, list, "--input", "1,3,32,32", "--metrics", "change", "-o", dir.file("out"), "--format", "json"});
  REQUIRE(batch.exit_code == 0);
  const std::vector<nlohmann::json> lines = json_lines(batch.out);
  REQUIRE(lines.size() == 3);
  const auto& photo_line = lines[0]["image"] == photo ? lines[0] : lines[1];
  REQUIRE(photo_line["image"] == photo);
  CHECK(photo_line["metrics"]["change"].get<double>() == Approx(m["change"].get<double>()).margin(1e-5));
  const auto& sums = lines[2]["aggregate"];
  CHECK(sums["maps"] == 2);
  CHECK(sums["change_sum"].get<double>() == Approx(lines[0]["metrics"]["change"].get<double>() + lines[1]["metrics"]["change"].get<double>()));
  check_error({"gradcam", model, photo, "--input", "1,3,32,32", "--metrics", "roads", "--format", "json"}, 2, {"--metrics 'roads' is not known"});
  // --draw-boxes draws a detector's detections: refused on a classifier before anything runs, and in batch mode.
  check_error({"gradcam", model, photo, "--input", "1,3,32,32", "--draw-boxes", "-o", dir.file("boxes.png")}, 2, {"--draw-boxes draws a detector's boxes"});
  CHECK_FALSE(std::ifstream(dir.file("boxes.png")).good());
  check_error({"gradcam", model, list, "--input", "1,3,32,32", "--draw-boxes", "-o", dir.file("boxes")}, 2, {"--draw-boxes take one image"});
}

// ROAD (pytorch-grad-cam's figures are checked in cam_test.cc): its names in the JSON and the text, the
// same figures in batch mode with their sums, --seed's effect and --road-percentiles' checks.
TEST_CASE("cli gradcam: ROAD metrics", "[cli][cam][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  const std::string photo = model_path("references/photo.png"), gray = model_path("references/gray.png");
  const std::vector<std::string> base = {"gradcam", model, photo, "--input", "1,3,32,32", "--metrics", "road-most,road-least,road"};
  auto road_of = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--format", "json"});
    const auto run = run_cnnviz(args);
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    return nlohmann::json::parse(run.out)["cams"][0]["metrics"];
  };
  const auto m = road_of({});
  for (const char* name : {"road-most", "road-least", "road"}) CHECK(m.contains(name));
  CHECK_FALSE(m.contains("change"));
  CHECK(road_of({"--seed", "0"}) == m);
  CHECK(road_of({"--seed", "1"})["road"] != m["road"]);
  // One percentile: road-most and road-least are that percentile's figures, road half their difference.
  const auto at50 = road_of({"--road-percentiles", "50"});
  CHECK(at50["road"].get<double>() != m["road"].get<double>());
  const auto text = run_cnnviz({"gradcam", model, photo, "--input", "1,3,32,32", "--metrics", "road", "-o", dir.file("o.png")});
  CHECK(text.out.find("metrics: road ") != std::string::npos);

  const std::string list = dir.file("list.txt");
  {
    std::ofstream l(list);
    l << photo << "\n" << gray << "\n";
  }
  const auto batch = run_cnnviz({"gradcam", model, list, "--input", "1,3,32,32", "--metrics", "road-most,road", "-o", dir.file("out"), "--format", "json",
                                 "--batch-size", "2"});
  INFO(batch.err);
  REQUIRE(batch.exit_code == 0);
  const std::vector<nlohmann::json> lines = json_lines(batch.out);
  REQUIRE(lines.size() == 3);
  const auto& photo_line = lines[0]["image"] == photo ? lines[0] : lines[1];
  REQUIRE(photo_line["image"] == photo);
  // Each map is seeded alone, so a batch's figures are the single image's.
  CHECK(photo_line["metrics"]["road"].get<double>() == Approx(m["road"].get<double>()).margin(1e-6));
  CHECK(photo_line["metrics"]["road-most"].get<double>() == Approx(m["road-most"].get<double>()).margin(1e-6));
  const auto& sums = lines[2]["aggregate"];
  CHECK(sums["road_sum"].get<double>() == Approx(lines[0]["metrics"]["road"].get<double>() + lines[1]["metrics"]["road"].get<double>()));
  CHECK(sums["road-most_mean"].get<double>() ==
        Approx((lines[0]["metrics"]["road-most"].get<double>() + lines[1]["metrics"]["road-most"].get<double>()) / 2));
  CHECK_FALSE(sums.contains("road-least_sum"));

  check_error({"gradcam", model, photo, "--input", "1,3,32,32", "--metrics", "road", "--road-percentiles", "10,120", "--format", "json"}, 2,
              {"120 is not a percentile"});
  check_error({"gradcam", model, photo, "--input", "1,3,32,32", "--metrics", "drop", "--road-percentiles", "50", "--format", "json"}, 2,
              {"--road-percentiles need a ROAD metric"});
}
