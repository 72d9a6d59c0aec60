#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/output_file.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

namespace {

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

Error output_refusal(const std::string& path, const std::string& bytes) {
  try {
    write_file_atomically(path, bytes);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kOutput);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    CHECK_THAT(e.what(), Contains("'" + path + "'"));
    return e;
  }
  FAIL("wrote " << path);
  return Error(ErrorKind::kInternal, "");
}

mode_t umask_now() {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

}  // namespace

TEST_CASE("write_file_atomically writes a new file with the usual mode", "[image]") {
  test::TempDir dir;
  const std::string bytes("binary\0data\n", 12);
  write_file_atomically(dir.file("out.png"), bytes);
  CHECK(test::read_file(dir.file("out.png")) == bytes);
  CHECK(entries(dir.path()) == std::vector<std::string>{"out.png"});
  struct stat st {};
  REQUIRE(::stat(dir.file("out.png").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == (0644 & ~umask_now()));
}

TEST_CASE("write_file_atomically replaces an existing file by renaming", "[image]") {
  test::TempDir dir;
  write_file_atomically(dir.file("out.png"), "old contents");
  struct stat before {};
  REQUIRE(::stat(dir.file("out.png").c_str(), &before) == 0);
  write_file_atomically(dir.file("out.png"), "new");
  struct stat after {};
  REQUIRE(::stat(dir.file("out.png").c_str(), &after) == 0);
  CHECK(test::read_file(dir.file("out.png")) == "new");
  CHECK(before.st_ino != after.st_ino);  // a new file took the name; the old one was never truncated
  CHECK(entries(dir.path()) == std::vector<std::string>{"out.png"});
}

TEST_CASE("write_new_file_atomically writes only a file that does not exist yet", "[image]") {
  test::TempDir dir;
  CHECK(write_new_file_atomically(dir.file("record.json"), "first"));
  CHECK_FALSE(write_new_file_atomically(dir.file("record.json"), "second"));
  CHECK(test::read_file(dir.file("record.json")) == "first");
  CHECK(entries(dir.path()) == std::vector<std::string>{"record.json"});  // no temporary file left
  struct stat st {};
  REQUIRE(::stat(dir.file("record.json").c_str(), &st) == 0);
  CHECK(st.st_nlink == 1);
  CHECK((st.st_mode & 0777) == (0644 & ~umask_now()));
  CHECK_THROWS_AS(write_new_file_atomically(dir.file("missing/record.json"), "x"), Error);
}

TEST_CASE("write_file_atomically into a missing directory leaves nothing", "[image]") {
  test::TempDir dir;
  const std::string path = dir.file("missing/x.png");
  const Error e = output_refusal(path, "data");
  CHECK_THAT(e.what(), Contains("directory '" + dir.file("missing") + "' does not exist; create it first"));
  CHECK(entries(dir.path()).empty());
}

TEST_CASE("write_file_atomically refuses a directory as the target", "[image]") {
  test::TempDir dir;
  std::filesystem::create_directory(dir.file("sub"));
  output_refusal(dir.file("sub"), "data");
  output_refusal(dir.file("sub") + "/", "data");
  CHECK(entries(dir.path()) == std::vector<std::string>{"sub"});
  CHECK(entries(dir.file("sub")).empty());
}

TEST_CASE("write_file_atomically into a read-only directory leaves nothing", "[image]") {
  if (::geteuid() == 0) {
    WARN("running as root, which ignores directory permissions: the read-only directory check is skipped");
    return;
  }
  test::TempDir dir;
  std::filesystem::create_directory(dir.file("ro"));
  REQUIRE(::chmod(dir.file("ro").c_str(), 0555) == 0);
  const Error e = output_refusal(dir.file("ro/x.png"), "data");
  CHECK_THAT(e.what(), Contains("not writable"));
  CHECK(entries(dir.file("ro")).empty());
}

TEST_CASE("a failed write keeps the old file and leaves no temporary file", "[image]") {
  test::TempDir dir;
  write_file_atomically(dir.file("out.png"), "old contents");
  // Make write(2) fail half-way with EFBIG: a file size limit, with SIGXFSZ ignored.
  struct rlimit old_limit {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  struct sigaction ignore {}, old_action {};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGXFSZ, &ignore, &old_action) == 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 1000;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  try {
    write_file_atomically(dir.file("out.png"), std::string(5000, 'x'));
  } catch (const Error& e) {
    message = e.what();
    CHECK(e.kind() == ErrorKind::kOutput);
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &old_action, nullptr);
  CHECK_THAT(message, Contains("cannot write '" + dir.file("out.png") + "': File too large"));
  CHECK(test::read_file(dir.file("out.png")) == "old contents");
  CHECK(entries(dir.path()) == std::vector<std::string>{"out.png"});
}

TEST_CASE("write_file_atomically writes relative paths in the working directory", "[image]") {
  test::TempDir dir;
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  write_file_atomically("plain.bin", "abc");
  std::filesystem::current_path(cwd);
  CHECK(test::read_file(dir.file("plain.bin")) == "abc");
  CHECK(entries(dir.path()) == std::vector<std::string>{"plain.bin"});
}
