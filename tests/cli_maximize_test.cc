// `cnnviz maximize` as a user runs it.

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_checks.h"
#include "cnnviz/image.h"
#include "npy_reference.h"
#include "test_env.h"

using cnnviz::test::check_error;
using cnnviz::test::model_path;
using cnnviz::test::run_cnnviz;
using cnnviz::test::TempDir;

TEST_CASE("cli maximize: FlashTorch's gradient ascent as a grid and raw inputs", "[cli][maximize][models]") {
  TempDir dir;
  const auto meta = nlohmann::json::parse(cnnviz::test::read_file(model_path("references/activation_max.vgg11.script.json")));
  auto r = run_cnnviz({"maximize", model_path("vgg11.script.pt"), "--layer", "features.8", "--filters", "0,5,17", "--input", "1,3,64,64",
                       "--steps", "5", "--seed", "3", "-o", dir.file("grid.png"), "--raw", dir.file("x.npy"), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["layer"] == "features.8");
  CHECK(doc["layer_class"] == "Conv2d");
  REQUIRE(doc["filters"].size() == 3);
  for (std::size_t f = 0; f < 3; ++f) {
    CHECK(doc["filters"][f]["filter"] == meta["filters"][f]["filter"]);
    CHECK(doc["filters"][f]["last"].get<double>() == Approx(meta["filters"][f]["last"].get<double>()).epsilon(1e-4));
  }
  const cnnviz::FloatArray theirs = cnnviz::test::load_reference("activation_max.vgg11.script.npy");
  CHECK(cnnviz::test::max_abs_diff(cnnviz::test::load_npy_float32(dir.file("x.npy")), theirs) <= 1e-4 * cnnviz::test::abs_max(theirs));
  // Three 64 x 64 tiles: 2 columns, 2 rows, 2-pixel padding.
  const cnnviz::Image grid = cnnviz::load_image(dir.file("grid.png"));
  CHECK(grid.width == 2 * 64 + 3 * 2);
  CHECK(grid.height == 2 * 64 + 3 * 2);

  r = run_cnnviz({"maximize", model_path("tiny_cnn.script.pt"), "--layer", "features.0", "--input", "1,3,32,32", "--steps", "2", "-o",
                  dir.file("tiny.png")});
  REQUIRE(r.exit_code == 0);
  CHECK(cnnviz::test::count_lines(r.out) == 1 + 1 + 4);  // the path, the header, filters 0-3
}

TEST_CASE("cli maximize: errors write nothing", "[cli][maximize][models]") {
  TempDir dir;
  const std::string tiny = model_path("tiny_cnn.script.pt");
  check_error({"maximize", tiny, "--layer", "features.0", "--input", "1,3,32,32"}, 2, {"nothing to write"});
  check_error({"maximize", tiny, "--layer", "features.0", "--input", "1,3,32,32", "--filters", "100000", "-o", dir.file("g.png")}, 2,
              {"--filters must be 0 to"});
  check_error({"maximize", tiny, "--layer", "features.99", "--input", "1,3,32,32", "-o", dir.file("g.png")}, 4, {"features.99"});
  check_error({"maximize", tiny, "--layer", "features.0", "--input", "1,2,32,32", "-o", dir.file("g.png")}, 2, {"--input"});
  check_error({"maximize", tiny, "--layer", "features.0", "--input", "1,3,4096,4096", "--filters", "0-15", "--max-memory", "1G", "-o",
               dir.file("g.png")},
              7, {"needs about", "--max-memory"});
  CHECK(std::filesystem::is_empty(dir.path()));
}
