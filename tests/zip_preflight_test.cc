#include <catch2/catch.hpp>

#include <fstream>

#include "cnnviz/error.h"
#include "cnnviz/zip_preflight.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

namespace {

std::string refusal(const std::string& path) {
  try {
    preflight_archive(path, "1.13.0");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kModel);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return e.what();
  }
  FAIL("accepted " << path);
  return "";
}

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

}  // namespace

TEST_CASE("a real TorchScript archive passes with its version and layout", "[model][models]") {
  const ArchiveInfo info = preflight_archive(test::model_path("tiny_cnn.script.pt"), "1.13.0");
  CHECK(info.has_code);
  CHECK(info.has_constants);
  CHECK(info.format_version >= 1);
  CHECK(info.format_version <= 10);
  CHECK(info.prefix == "tiny_cnn.script");
}

TEST_CASE("non-archives are named for what they are", "[model]") {
  test::TempDir dir;
  write(dir.file("empty.pt"), "");
  write(dir.file("image.pt"), std::string("\x89PNG\r\n\x1a\n0000", 12));
  write(dir.file("pickle.pt"), std::string("\x80\x02}q\x00.", 6));
  write(dir.file("text.pt"), "hello world\n");
  CHECK_THAT(refusal(dir.file("empty.pt")), Contains("the file is empty"));
  CHECK_THAT(refusal(dir.file("image.pt")), Contains("it is a PNG image"));
  CHECK_THAT(refusal(dir.file("pickle.pt")), Contains("legacy torch.save pickle"));
  CHECK_THAT(refusal(dir.file("text.pt")), Contains("not a zip archive") && Contains("torch.jit.script"));
}

TEST_CASE("broken and foreign archives from the exporter are refused", "[model][models]") {
  CHECK_THAT(refusal(test::model_path("bad/truncated.pt")), Contains("truncated or corrupted"));
  CHECK_THAT(refusal(test::model_path("bad/state_dict.pt")), Contains("no TorchScript code") && Contains("state_dict"));
  CHECK_THAT(refusal(test::model_path("bad/not_a_model.png")), Contains("PNG image"));
  CHECK_THAT(refusal(test::model_path("bad/future_version.pt")),
             Contains("newer PyTorch") && Contains("version 99") && Contains("LibTorch 1.13.0") && Contains("up to 10"));
}

TEST_CASE("entries pointing outside the file are refused", "[model][models]") {
  test::TempDir dir;
  std::string bytes = test::read_file(test::model_path("tiny_cnn.script.pt"));
  // Point the first central-directory entry's local-header offset past the end of the file.
  const std::size_t cd = bytes.find("PK\x01\x02");
  REQUIRE(cd != std::string::npos);
  for (int i = 0; i < 4; ++i) bytes[cd + 42 + static_cast<std::size_t>(i)] = '\x7f';
  write(dir.file("bad.pt"), bytes);
  CHECK_THAT(refusal(dir.file("bad.pt")), Contains("beyond the end of the file"));
}

TEST_CASE("entry names that climb out of the archive are refused", "[model][models]") {
  test::TempDir dir;
  std::string bytes = test::read_file(test::model_path("tiny_cnn.script.pt"));
  // Same length, in the local and the central header alike.
  const std::string name = "tiny_cnn.script/data.pkl", evil = "tiny_cnn.script/../a.pkl";
  REQUIRE(name.size() == evil.size());
  for (std::size_t at = bytes.find(name); at != std::string::npos; at = bytes.find(name, at)) bytes.replace(at, name.size(), evil);
  write(dir.file("climb.pt"), bytes);
  CHECK_THAT(refusal(dir.file("climb.pt")), Contains("escapes the archive"));
}

TEST_CASE("archives with more entries than the limit are refused", "[model][models]") {
  ArchiveLimits limits;
  limits.max_entries = 5;
  try {
    preflight_archive(test::model_path("tiny_cnn.script.pt"), "1.13.0", limits);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kModel);
    CHECK_THAT(e.what(), Contains("more than the limit of 5"));
  }
}
