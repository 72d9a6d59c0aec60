// `cnnviz completion`: the shell completions and the man page, written from the CLI's own definitions.

#include <catch2/catch.hpp>
#include <unistd.h>

#include <fstream>

#include "test_env.h"

using Catch::Matchers::Contains;
using cnnviz::test::run_cnnviz;
using cnnviz::test::TempDir;

namespace {

const char* const kCommands[] = {"summary", "layers", "kernels", "features", "gradcam", "saliency", "maximize", "report", "diff", "completion"};

std::string generated(const std::string& format) {
  const auto r = run_cnnviz({"completion", format});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// Runs `script` with bash, returning its stdout; fails the test if bash fails.
std::string bash(const std::string& script, const TempDir& dir) {
  const std::string file = dir.file("t.sh");
  std::ofstream(file) << script;
  const std::string out = dir.file("out.txt");
  REQUIRE(std::system(("/bin/bash " + file + " > " + out).c_str()) == 0);
  return cnnviz::test::read_file(out);
}

}  // namespace

TEST_CASE("completion: every command and option, in bash, zsh, fish and the man page", "[cli][completion]") {
  for (const char* format : {"bash", "zsh", "fish", "man"}) {
    INFO(format);
    const std::string text = generated(format);
    for (const char* command : kCommands) CHECK_THAT(text, Contains(command));
    const std::string max_size = std::string(format) == "man" ? "\\-\\-max\\-size" : std::string(format) == "fish" ? "-l max-size" : "--max-size";
    CHECK_THAT(text, Contains(max_size));
  }
  CHECK_THAT(generated("man"), Contains(".SH EXIT STATUS"));
  CHECK(run_cnnviz({"completion", "tcsh"}).exit_code == 2);
}

TEST_CASE("completion: the bash script completes commands, options and files", "[cli][completion]") {
  TempDir dir;
  const std::string script = dir.file("cnnviz.bash");
  std::ofstream(script) << generated("bash");
  REQUIRE(std::system(("/bin/bash -n " + script).c_str()) == 0);
  const std::string prelude = "source " + script + "\ncomplete_words() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _cnnviz; printf '%s\\n' \"${COMPREPLY[@]}\"; }\n";
  CHECK(bash(prelude + "complete_words cnnviz rep\n", dir) == "report\n");
  CHECK(bash(prelude + "complete_words cnnviz report --max-s\n", dir) == "--max-size\n");
  CHECK_THAT(bash(prelude + "complete_words cnnviz gradcam --me\n", dir), Contains("--method\n"));
  CHECK_THAT(bash(prelude + "cd " + dir.path() + "\ncomplete_words cnnviz summary cnnviz.b\n", dir), Contains("cnnviz.bash"));
}

TEST_CASE("completion: the man page is valid roff", "[cli][completion]") {
  if (::access("/usr/bin/groff", X_OK) != 0) {
    WARN("groff is not installed: the man page's roff is not checked");
    return;
  }
  TempDir dir;
  const std::string page = dir.file("cnnviz.1");
  std::ofstream(page) << generated("man");
  // -ww: every warning; groff exits 0 with warnings, so the warnings file must stay empty.
  REQUIRE(std::system(("groff -man -Tutf8 -ww " + page + " > " + dir.file("out.txt") + " 2> " + dir.file("warnings.txt")).c_str()) == 0);
  CHECK(cnnviz::test::read_file(dir.file("warnings.txt")).empty());
  CHECK_THAT(cnnviz::test::read_file(dir.file("out.txt")), Contains("report"));
}
