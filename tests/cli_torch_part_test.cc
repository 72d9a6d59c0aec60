// The CLI's LibTorch part (src/cli/torch_part.cc): loaded on first use, so that what needs no model run
// never loads LibTorch, and a missing or broken part is one clear error line.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "test_env.h"

using Catch::Matchers::Contains;
using cnnviz::test::model_path;
using cnnviz::test::run_program;
using cnnviz::test::TempDir;

namespace {

// The dynamic loader's own account of the files it opens (glibc's LD_DEBUG=files): whether a run
// loaded LibTorch's CPU library.
bool loads_libtorch(const std::vector<std::string>& args, int* exit_code = nullptr) {
  const auto r = run_program(CNNVIZ_BIN, args, {"LD_DEBUG=files"});
  if (exit_code) *exit_code = r.exit_code;
  return r.err.find("libtorch_cpu.so") != std::string::npos;
}

// A copy of the cnnviz binary alone in a folder, without the part beside it.
std::string lone_binary(const TempDir& dir) {
  const std::string copy = dir.file("cnnviz");
  std::filesystem::copy_file(CNNVIZ_BIN, copy);
  return copy;
}

}  // namespace

TEST_CASE("cli torch part: help, version, completions and usage errors do not load LibTorch", "[cli][torch_part]") {
  if (!CNNVIZ_TEST_LAZY_TORCH) {
    SUCCEED("this build links LibTorch in (CNNVIZ_LAZY_TORCH is off)");
    return;
  }
  int code = -1;
  // The control: a forward pass loads it, and the loader's log says so.
  CHECK(loads_libtorch({"summary", model_path("tiny_cnn.script.pt"), "--input", "1,3,32,32"}, &code));
  CHECK(code == 0);
  std::vector<std::vector<std::string>> instant = {
      {"--version"},
      {"--help"},
      {"gradcam", "--help"},
      {"report", "--help"},
      {"completion", "bash"},
      {"completion", "man"},
      {"gradcam", model_path("tiny_cnn.script.pt"), "x.png", "--method", "nope"},
      {"summary", model_path("tiny_cnn.script.pt"), "--input", "1,x"},
      // Answered from the file: the module tree and parameter counts.
      {"summary", model_path("resnet18.script.pt")},
      {"summary", model_path("densenet121.trace.pt"), "--format", "json"},
      {"summary", model_path("resnet18.script.pt"), model_path("tiny_cnn.trace.pt"), "--format", "json"},
      {"diff", model_path("diff_base.script.pt"), model_path("diff_wide.script.pt")},
  };
  // A .pt2 at its exported shape: the rows come from the program's record.
  if (CNNVIZ_TEST_MODERN_MODELS) instant.push_back({"summary", model_path("vit_b_16.pt2"), "--format", "json"});
  for (const auto& args : instant) {
    INFO(args.front() << " " << (args.size() > 1 ? args[1] : ""));
    CHECK_FALSE(loads_libtorch(args, &code));
    CHECK(code != -1);
  }
}

TEST_CASE("cli torch part: a missing part is one error line with a fix and exit 1", "[cli][torch_part]") {
  if (!CNNVIZ_TEST_LAZY_TORCH) {
    SUCCEED("this build links LibTorch in (CNNVIZ_LAZY_TORCH is off)");
    return;
  }
  TempDir dir;
  const std::string bin = lone_binary(dir);
  // What needs no model still works.
  const auto version = run_program(bin, {"--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Contains("cnnviz "));

  const std::string out = dir.file("k.png");
  const auto r = run_program(bin, {"kernels", model_path("tiny_cnn.script.pt"), "--layer", "features.0", "-o", out});
  CHECK(r.exit_code == 1);
  CHECK(cnnviz::test::count_lines(r.err) == 1);
  CHECK_THAT(r.err, Contains("LibTorch part") && Contains("reinstall cnnviz"));
  CHECK_FALSE(std::filesystem::exists(out));

  // A file that is not a shared library, where the part should be.
  std::ofstream(dir.file("libcnnviz-torch.so")) << "not a library\n";
  const auto broken = run_program(bin, {"kernels", model_path("tiny_cnn.script.pt"), "--layer", "features.0", "-o", out});
  CHECK(broken.exit_code == 1);
  CHECK(cnnviz::test::count_lines(broken.err) == 1);
  CHECK_THAT(broken.err, Contains("cannot load cnnviz's LibTorch part") && Contains(dir.file("libcnnviz-torch.so")));
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("cli torch part: a summary read from the file prints what the loaded model prints", "[cli][torch_part]") {
  // --load takes the full path (LibTorch loads the model); the library test compares the two paths on
  // every test model (tests/archive_summary_test.cc), this one the whole command's bytes.
  std::vector<std::string> files = {"resnet18.script.pt", "densenet121.trace.pt", "tiny_cnn.script.pt", "two_inputs.script.pt"};
  if (CNNVIZ_TEST_MODERN_MODELS) files.insert(files.end(), {"resnet18.pt2", "vit_b_16.pt2"});
  for (const std::string& file : files) {
    for (const char* format : {"text", "json", "csv"}) {
      INFO(file << " --format " << format);
      const auto fast = cnnviz::test::run_cnnviz({"summary", model_path(file), "--format", format, "--depth", "4"});
      const auto full = cnnviz::test::run_cnnviz({"summary", model_path(file), "--format", format, "--depth", "4", "--load"});
      REQUIRE(full.exit_code == 0);
      CHECK(fast.exit_code == 0);
      CHECK(fast.out == full.out);
      CHECK(fast.err == full.err);
    }
  }
}
