// gradcam's batch sources (src/cnnviz/io/batch_source.cc): sources, shards, ranked output names and
// the settings record that keeps a resumed run from mixing overlays of two settings.

#include "cnnviz/batch_source.h"

#include <catch2/catch.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cnnviz/error.h"
#include "test_env.h"

using cnnviz::Error;
using cnnviz::ErrorKind;
using namespace cnnviz;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

void write(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("ranked_path numbers outputs only with --top-k", "[gradcam]") {
  CHECK(ranked_path("out/cat.png", 1, 0) == "out/cat.png");
  CHECK(ranked_path("out/cat.png", 1, 3) == "out/cat.top1.png");
  CHECK(ranked_path("out/cat.png", 3, 3) == "out/cat.top3.png");
  CHECK(ranked_path("out/a.b/cat", 2, 2) == "out/a.b/cat.top2");
  CHECK(ranked_path("", 1, 3).empty());
}

TEST_CASE("batch items come sorted with outputs mirroring the source", "[gradcam]") {
  cnnviz::test::TempDir dir;
  for (const char* name : {"b.png", "a.JPG", "sub/c.jpeg", "notes.txt", "sub/d.gif"}) write(dir.file("imgs/") + name, "x");
  const auto items = list_batch_items(dir.file("imgs"), dir.file("out"));
  REQUIRE(items.size() == 3);
  CHECK(items[0].name == "a.JPG");
  CHECK(items[0].output == dir.file("out/a.png"));
  CHECK(items[1].name == "b.png");
  CHECK(items[2].name == "sub/c.jpeg");
  CHECK(items[2].output == dir.file("out/sub/c.png"));
  CHECK(is_batch_source(dir.file("imgs")));
  CHECK(is_batch_source("list.txt"));
  CHECK_FALSE(is_batch_source(dir.file("imgs/b.png")));

  // A list: relative paths from the list's folder, comments and blank lines skipped, CRLF accepted.
  write(dir.file("list.txt"), "# images\r\nimgs/b.png\r\n\r\n" + dir.file("imgs/a.JPG") + "\n");
  const auto listed = list_batch_items(dir.file("list.txt"), dir.file("out"));
  REQUIRE(listed.size() == 2);
  // Items sort by name, and an absolute entry's name is its whole path, so where it lands depends on
  // where the temp directory is: "/check/..." sorts before "imgs/", "/work/..." after.
  CHECK(listed[0].name < listed[1].name);
  const bool relative_first = listed[0].name == "imgs/b.png";
  const BatchItem& relative = listed[relative_first ? 0 : 1];
  const BatchItem& absolute = listed[relative_first ? 1 : 0];
  CHECK(relative.name == "imgs/b.png");
  CHECK(relative.image == dir.file("imgs/b.png"));
  CHECK(relative.output == dir.file("out/imgs/b.png"));
  // An absolute path keeps its whole path under the output directory.
  CHECK(absolute.image == dir.file("imgs/a.JPG"));
  CHECK(absolute.output == (fs::path(dir.file("out")) / fs::path(dir.file("imgs/a.png")).relative_path()).string());

  write(dir.file("climb.txt"), "../x.png\n");
  CHECK_THROWS_WITH(list_batch_items(dir.file("climb.txt"), dir.file("out")), Contains("outside the output directory"));
  write(dir.file("clash.txt"), "imgs/b.png\nimgs/b.jpg\n");
  CHECK_THROWS_WITH(list_batch_items(dir.file("clash.txt"), dir.file("out")), Contains("would both write"));
}

TEST_CASE("shards split a batch without overlap", "[gradcam]") {
  std::vector<BatchItem> items;
  for (int i = 0; i < 7; ++i) items.push_back({std::to_string(i), std::to_string(i), ""});
  std::size_t total = 0;
  for (int s = 0; s < 3; ++s) {
    const auto mine = take_shard(items, std::to_string(s) + "/3");
    for (std::size_t j = 0; j < mine.size(); ++j) CHECK(std::stoi(mine[j].name) % 3 == s);
    total += mine.size();
  }
  CHECK(total == items.size());
  CHECK(take_shard(items, "").size() == 7);
  for (const char* bad : {"3/3", "-1/3", "1/0", "1", "a/b", "1/3x"}) {
    INFO(bad);
    try {
      (void)take_shard(items, bad);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kUsage);
    }
  }
}

TEST_CASE("the settings record refuses a resume with other settings", "[gradcam]") {
  cnnviz::test::TempDir dir;
  const std::string record = dir.file(".cnnviz-gradcam.json");
  const nlohmann::ordered_json first = {{"model_sha256", "aa"}, {"layer", "features.3"}, {"method", "gradcam"}};
  check_batch_settings(dir.path(), first, false);
  REQUIRE(fs::exists(record));
  CHECK(nlohmann::ordered_json::parse(read(record)) == first);
  check_batch_settings(dir.path(), first, false);  // the same settings resume

  nlohmann::ordered_json other = first;
  other["layer"] = "features.6";
  other["method"] = "scorecam";
  try {
    check_batch_settings(dir.path(), other, false);
    FAIL("a resume with other settings was accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kUsage);
    CHECK_THAT(e.what(), Contains("(layer, method)") && Contains("--overwrite"));
  }
  CHECK(nlohmann::ordered_json::parse(read(record)) == first);  // a refusal leaves the record alone

  check_batch_settings(dir.path(), other, true);  // --overwrite records the new settings
  CHECK(nlohmann::ordered_json::parse(read(record)) == other);

  write(record, "not json");
  CHECK_THROWS_WITH(check_batch_settings(dir.path(), other, false), Contains("unreadable"));
}

TEST_CASE("runs starting together with other settings: one records them and the rest are refused", "[gradcam]") {
  for (int round = 0; round < 20; ++round) {
    cnnviz::test::TempDir dir;
    std::atomic<int> accepted{0}, refused{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> shards;
    for (int i = 0; i < 8; ++i) {
      shards.emplace_back([&, i] {
        while (!go) std::this_thread::yield();
        try {
          check_batch_settings(dir.path(), {{"layer", "features." + std::to_string(i)}}, false);
          ++accepted;
        } catch (const Error&) {
          ++refused;
        }
      });
    }
    go = true;
    for (auto& t : shards) t.join();
    CHECK(accepted == 1);
    CHECK(refused == 7);
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
  }
}
