// `cnnviz report` as a user runs it: the page's record equals what the other commands print for the
// same model and image, pictures are left out (and named) past --max-size, and errors write nothing.
// tests/browser/ opens the pages in Chromium.

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_checks.h"
#include "html_checks.h"
#include "test_env.h"

using Catch::Matchers::Contains;
using cnnviz::test::check_error;
using cnnviz::test::model_path;
using cnnviz::test::run_cnnviz;
using cnnviz::test::TempDir;
namespace fs = std::filesystem;

namespace {

nlohmann::json embedded_record(const std::string& html) { return nlohmann::json::parse(cnnviz::test::embedded_record_text(html)); }

nlohmann::json run_json(const std::vector<std::string>& args) {
  const auto r = run_cnnviz(args);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("cli report: ResNet-18 and an image: the page's record is what summary and gradcam print", "[cli][report][models]") {
  TempDir dir;
  const std::string model = model_path("resnet18.script.pt");
  const std::string image = cnnviz::test::golden_path("cam/input.png");
  const std::string page = dir.file("r18.html");
  const auto r = run_cnnviz({"report", model, image, "-o", page, "--methods", "gradcam,eigencam", "--metrics", "drop"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == page + "\n");
  const std::string html = cnnviz::test::read_file(page);
  const nlohmann::json record = embedded_record(html);
  CHECK(record["schema"] == "cnnviz.report");
  CHECK(record["command"][1] == "report");

  // The summary is `cnnviz summary --format json`'s document at the images' input shape.
  const nlohmann::json summary = run_json({"summary", model, "--input", "1,3,224,224", "--format", "json"});
  CHECK(record["summary"] == summary);
  CHECK(cnnviz::test::count_occurrences(html, "<li class=\"row\"") == static_cast<int>(summary["layers"].size()));
  CHECK(cnnviz::test::count_occurrences(html, "<li class=\"group\">") == 1);  // layer1.0 and layer1.1: BasicBlock x 2
  CHECK_THAT(html, Contains("BasicBlock \u00D7 2"));
  CHECK_THAT(html, Contains(summary["model"]["sha256"].get<std::string>()));
  CHECK_THAT(html, Contains("Total params: 11,689,512"));  // torchinfo's totals block

  // Each method's CAMs are `cnnviz gradcam --top-k 3 --format json`'s (with the same metrics).
  REQUIRE(record["images"].size() == 1);
  const nlohmann::json& shown = record["images"][0];
  REQUIRE(shown["cams"].size() == 2);
  const nlohmann::json gradcam = run_json({"gradcam", model, image, "--top-k", "3", "--metrics", "drop", "--format", "json"});
  CHECK(shown["cams"][0] == gradcam);
  CHECK(shown["predictions"] == gradcam["predictions"]);
  const nlohmann::json eigencam = run_json({"gradcam", model, image, "--top-k", "3", "--metrics", "drop", "--method", "eigencam", "--format", "json"});
  CHECK(shown["cams"][1] == eigencam);
  const nlohmann::json saliency = run_json({"saliency", model, image, "--format", "json"});
  CHECK(shown["saliency"] == saliency);

  // Pictures: 20 kernel grids, the image, 2 x 3 CAMs, a saliency map and 20 feature grids, all inline.
  CHECK(record["kernels"].size() == 20);
  CHECK(shown["feature_maps"].size() == 20);
  CHECK(cnnviz::test::count_occurrences(html, "<img ") == 20 + 1 + 6 + 1 + 20);
  CHECK(cnnviz::test::count_occurrences(html, "<img src=\"data:image/") == cnnviz::test::count_occurrences(html, "<img "));
  CHECK(record["omitted"].empty());
}

TEST_CASE("cli report: past --max-size pictures are left out and named, never a cut page", "[cli][report][models]") {
  TempDir dir;
  const std::string model = model_path("resnet18.script.pt");
  const std::string image = cnnviz::test::golden_path("cam/input.png");
  const std::string page = dir.file("small.html");
  const auto r = run_cnnviz({"report", model, image, "-o", page, "--max-size", "0.4"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("left out: feature maps of layer4.1.conv2 (Conv2d) for " + image));
  const auto size = fs::file_size(page);
  CHECK(size <= 400000);
  const std::string html = cnnviz::test::read_file(page);
  const nlohmann::json record = embedded_record(html);
  REQUIRE(!record["omitted"].empty());
  CHECK(cnnviz::test::count_occurrences(html, "class=\"left-out\"") == static_cast<int>(record["omitted"].size()));
  CHECK(html.substr(html.size() - 8) == "</html>\n");

  // A model alone: the summary and its kernels, no forward.
  const auto alone = run_cnnviz({"report", model_path("tiny_cnn.script.pt"), "-o", dir.file("tiny.html")});
  REQUIRE(alone.exit_code == 0);
  const nlohmann::json tiny = embedded_record(cnnviz::test::read_file(dir.file("tiny.html")));
  CHECK(tiny["summary"] == run_json({"summary", model_path("tiny_cnn.script.pt"), "--format", "json"}));
  CHECK(tiny["images"].empty());
}

TEST_CASE("cli report: bad input is one line, an exit code and no file", "[cli][report][models]") {
  TempDir dir;
  const std::string model = model_path("tiny_cnn.script.pt");
  const std::string image = cnnviz::test::golden_path("cam/input.png");
  const std::string page = dir.file("r.html");
  check_error({"report", model, image}, 2, {"--output is required"});
  check_error({"report", model, image, "-o", page, "--methods", "gradcan"}, 2, {"gradcan"});
  check_error({"report", model, image, "-o", page, "--saliency", "smooth"}, 2, {"smooth"});
  check_error({"report", model, image, "-o", page, "--class", "3", "--top-k", "2"}, 2, {"excludes"});
  check_error({"report", model, dir.file("missing.png"), "-o", page}, 3, {"missing.png"});
  check_error({"report", model, image, "-o", page, "--layers", "features.99", "--input", "1,3,32,32"}, 4, {"features.99"});
  check_error({"report", model, image, "-o", dir.file("no/such/dir/r.html")}, 9, {"does not exist", "create it first"});
  check_error({"report", model, image, "-o", dir.path()}, 9, {"is a directory"});
  check_error({"report", model_path("densenet121.script.pt"), "-o", page, "--max-size", "0.1"}, 7,
              {"even with its pictures left out", "--max-size"});
  CHECK(fs::is_empty(dir.path()));
}
