// InputFile: one open file that every reader of an input goes through (src/cnnviz/io/input_file.cc).

#include "cnnviz/input_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "cnnviz/error.h"
#include "cnnviz/version.h"
#include "cnnviz/zip_preflight.h"
#include "test_env.h"

using cnnviz::Error;
using cnnviz::ErrorKind;
using cnnviz::InputFile;
using Catch::Matchers::Contains;

namespace {

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("InputFile reads the file it opened, even after the path is replaced", "[input]") {
  cnnviz::test::TempDir dir;
  write(dir.file("a"), "first");
  write(dir.file("b"), "second, longer");
  const InputFile file(dir.file("a"), "a test file");
  CHECK(file.path() == dir.file("a"));
  CHECK(file.size() == 5);
  REQUIRE(std::rename(dir.file("b").c_str(), dir.file("a").c_str()) == 0);
  CHECK(file.read_all(100) == "first");
  // open_name() is how LibTorch, which opens files by name, gets the same file.
  CHECK(read(file.open_name()) == "first");
  CHECK(read(dir.file("a")) == "second, longer");
}

TEST_CASE("InputFile refuses non-files and enforces its size limit", "[input]") {
  cnnviz::test::TempDir dir;
  const auto refusal = [](const std::string& path) -> Error {
    try {
      InputFile file(path, "a test file");
    } catch (const Error& e) {
      return e;
    }
    FAIL("no error for " << path);
    return Error(ErrorKind::kInternal, "");
  };
  CHECK_THAT(refusal(dir.file("missing")).what(), Contains("no such file"));
  CHECK_THAT(refusal(dir.path()).what(), Contains("is a directory") && Contains("a test file"));
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
  const Error fifo = refusal(dir.file("fifo"));
  CHECK(fifo.kind() == ErrorKind::kInput);
  CHECK_THAT(fifo.what(), Contains("not a regular file"));

  write(dir.file("ten"), "0123456789");
  const InputFile ten(dir.file("ten"), "a test file");
  CHECK(ten.read_all(10) == "0123456789");
  try {
    (void)ten.read_all(9);
    FAIL("no error past the limit");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kResource);
    CHECK_THAT(e.what(), Contains("limit of 9 bytes"));
  }
}

TEST_CASE("the model pre-flight checks the open file, not what the path names later", "[input][model][models]") {
  cnnviz::test::TempDir dir;
  write(dir.file("m.pt"), read(cnnviz::test::model_path("tiny_cnn.script.pt")));
  write(dir.file("png"), "\x89PNG\r\n\x1a\n0000");
  const InputFile file(dir.file("m.pt"), cnnviz::kModelFile);
  REQUIRE(std::rename(dir.file("png").c_str(), dir.file("m.pt").c_str()) == 0);
  CHECK(cnnviz::preflight_archive(file, cnnviz::libtorch_version()).format_version > 0);
  CHECK_THROWS_WITH(cnnviz::preflight_archive(dir.file("m.pt"), cnnviz::libtorch_version()), Contains("PNG"));
}
