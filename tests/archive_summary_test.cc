// summarize_from_archive (src/cnnviz/summary/archive_summary.cc): the summaries a model file answers
// without LibTorch must print exactly what summarize_model prints, for every test model; the models it
// declines are listed with their reason.

#include <catch2/catch.hpp>

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cnnviz/archive_summary.h"
#include "cnnviz/error.h"
#include "cnnviz/runtime.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_csv.h"
#include "cnnviz/summary_json.h"
#include "cnnviz/summary_text.h"
#include "test_env.h"

#include <cstdlib>

using namespace cnnviz;

namespace {

std::vector<std::string> files_in(const std::string& dir, const std::vector<std::string>& suffixes) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      for (const std::string& s : suffixes) {
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) names.push_back(name);
      }
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// The table with every column, every row, var names: everything a record prints.
TextOptions every_column() {
  TextOptions all;
  all.columns = {Column::kInputSize, Column::kOutputSize, Column::kNumParams, Column::kParamsPercent,
                 Column::kKernelSize, Column::kMultAdds, Column::kTrainable};
  all.depth = 100;
  all.show_var_names = true;
  return all;
}

void check_same_outputs(const Summary& instant, const Summary& full) {
  // The whole context too (the BLAS named, the hash, the notes): the JSON prints every field.
  CHECK(render_summary_text(instant.records, instant.stats, every_column()) ==
        render_summary_text(full.records, full.stats, every_column()));
  CHECK(render_summary_text(instant.records, instant.stats, TextOptions{}) == render_summary_text(full.records, full.stats, TextOptions{}));
  CHECK(summary_to_json(instant.records, instant.stats, instant.context).dump(1) ==
        summary_to_json(full.records, full.stats, full.context).dump(1));
  CHECK(summary_to_csv(instant.records) == summary_to_csv(full.records));
}

/// The models the instant path declines on purpose, and why.
const std::map<std::string, std::string>& expected_declines() {
  // torchvision's operators: the full path finds Debian's torchvision library and loads it (op_library.h);
  // the archive alone cannot tell whether this machine has it.
  static const std::map<std::string, std::string> declines = {
      {"nms_head.script.pt", "the operator torchvision::nms, which this LibTorch does not have"},
      {"nms_head.trace.pt", "the operator torchvision::nms, which this LibTorch does not have"},
      {"fasterrcnn_resnet50_fpn.script.pt", "the operator torchvision::"},  // 2.14's models
  };
  return declines;
}

}  // namespace

TEST_CASE("archive summary: every test model's no-input summary equals the full path's or is declined as listed", "[archive_summary][models]") {
  const std::string dir = test::model_dir();
  const std::vector<std::string> models = files_in(dir, {".pt", ".pt2"});
  REQUIRE(!models.empty());
  int answered = 0;
  for (const std::string& name : models) {
    INFO(name);
    SummaryRequest request;
    request.model_path = dir + "/" + name;
    request.compute_sha256 = true;
    std::string why_not;
    const std::optional<Summary> instant = summarize_from_archive(request, &why_not);
    const auto expected = expected_declines().find(name);
    if (expected == expected_declines().end()) {
      CHECK(why_not == "");
    } else {
      CHECK_THAT(why_not, Catch::Matchers::Contains(expected->second));
    }
    if (!instant) continue;
    ++answered;
    check_same_outputs(*instant, summarize_model(request));
  }
  CHECK(answered > 0);
}

TEST_CASE("archive summary: declines what needs LibTorch", "[archive_summary][models]") {
  SummaryRequest request;
  request.model_path = test::model_path("tiny_cnn.script.pt");
  REQUIRE(summarize_from_archive(request).has_value());
  SECTION("an input") {
    request.inputs = {InputSpec{{1, 3, 32, 32}, DType::kFloat32}};
    CHECK(!summarize_from_archive(request));
  }
  SECTION("FLOPs") {
    request.count_flops = true;
    CHECK(!summarize_from_archive(request));
  }
  SECTION("another device") {
    request.device = DeviceKind::kAuto;
    CHECK(!summarize_from_archive(request));
  }
}

TEST_CASE("archive summary: damaged archives give nullopt or the full path's own error and never crash", "[archive_summary][models]") {
  const std::string dir = test::model_dir() + "/bad";
  const std::vector<std::string> files = files_in(dir, {".pt", ".pt2", ".png"});
  REQUIRE(!files.empty());
  for (const std::string& name : files) {
    INFO(name);
    SummaryRequest request;
    request.model_path = dir + "/" + name;
    std::string instant_error;
    try {
      const std::optional<Summary> s = summarize_from_archive(request);
      if (s) {
        // An answer is only right where the full path answers the same.
        check_same_outputs(*s, summarize_model(request));
        continue;
      }
    } catch (const Error& e) {
      instant_error = e.what();
    }
    if (instant_error.empty()) continue;
    try {
      summarize_model(request);
      FAIL("the full path summarises what the instant path refuses");
    } catch (const Error& e) {
      CHECK(std::string(e.what()) == instant_error);
    }
  }
  SECTION("an operator LibTorch lacks: declined, as the full path refuses it") {
    SummaryRequest request;
    request.model_path = dir + "/unknown_op.pt";
    std::string why_not;
    CHECK(!summarize_from_archive(request, &why_not));
    CHECK(why_not == "the operator aten::relx, which this LibTorch does not have");
  }
  SECTION("missing file: the full path's error") {
    SummaryRequest request;
    request.model_path = dir + "/no-such-model.pt";
    CHECK_THROWS_AS(summarize_from_archive(request), Error);
  }
}

// Damaged copies of small models (cut short, bytes changed, runs of bytes overwritten): whenever the
// instant path answers, the full path must answer the same; where it declines or throws, nothing crashed.
TEST_CASE("archive summary: damaged copies of a model answer as the full path does or decline", "[archive_summary][models]") {
  const test::TempDir tmp;
  for (const std::string name : {"tiny_cnn.script.pt", "tiny_cnn.trace.pt", "tiny_cnn.pt2"}) {
    if (!std::ifstream(test::model_dir() + "/" + name)) continue;  // .pt2: exported by PyTorch 2.x only
    const std::string original = test::read_file(test::model_path(name));
    std::mt19937 rng(7);
    int answered = 0;
    for (int i = 0; i < 150; ++i) {
      std::string bytes = original;
      if (i % 3 == 0) {
        bytes.resize(rng() % bytes.size());
      } else if (i % 3 == 1) {
        for (int k = 0; k < 4; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      } else {
        const std::size_t at = rng() % bytes.size();
        for (std::size_t k = at; k < at + rng() % 64 && k < bytes.size(); ++k) bytes[k] = static_cast<char>(rng());
      }
      const std::string path = tmp.file(std::to_string(i) + "-" + name);
      std::ofstream(path, std::ios::binary) << bytes;
      INFO(name << " damaged #" << i);
      SummaryRequest request;
      request.model_path = path;
      std::optional<Summary> instant;
      try {
        instant = summarize_from_archive(request);
      } catch (const Error&) {
        continue;  // the same first steps as the full path's (checked on bad/ above)
      }
      if (!instant) continue;
      ++answered;
      Summary full;
      REQUIRE_NOTHROW(full = summarize_model(request));
      check_same_outputs(*instant, full);
    }
    CHECK(answered > 0);
  }
}

// Files saved by PyTorch 2.14 ($CNNVIZ_MODERN_MODEL_DIR), on this build (scripts/test runs [.cross] on the
// 1.13 build): whatever this LibTorch cannot load the instant path declines, and what it answers is the
// full path's summary.
TEST_CASE("archive summary: files saved by PyTorch 2.14 on this build", "[.cross]") {
  const char* dir = std::getenv("CNNVIZ_MODERN_MODEL_DIR");
  REQUIRE(dir != nullptr);
  int answered = 0;
  for (const std::string& name : files_in(dir, {".pt", ".pt2"})) {
    INFO(name);
    SummaryRequest request;
    request.model_path = std::string(dir) + "/" + name;
    const std::optional<Summary> instant = summarize_from_archive(request);
    std::optional<Summary> full;
    try {
      full = summarize_model(request);
    } catch (const Error& e) {
      INFO(e.what());
      CHECK(!instant);
    }
    if (!instant || !full) continue;
    ++answered;
    check_same_outputs(*instant, *full);
  }
  CHECK(answered > 0);
}

#if CNNVIZ_TEST_MODERN_MODELS
// A .pt2 answers at the shapes it was exported with, given or not, and declines any other shape, a run
// asked for (use_recorded_shapes false), or an estimate above the memory limit (the full path's guard
// refuses that one).
TEST_CASE("archive summary: a .pt2 answers at its exported shapes only", "[archive_summary][models][modern]") {
  SummaryRequest request;
  request.model_path = test::model_path("resnet18.pt2");
  const std::optional<Summary> exported = summarize_from_archive(request);
  REQUIRE(exported);
  REQUIRE(exported->context.inputs.size() == 1);
  CHECK(exported->context.memory_estimate_bytes > 0);
  SECTION("the exported shape given") {
    request.inputs = exported->context.inputs;
    const std::optional<Summary> given = summarize_from_archive(request);
    REQUIRE(given);
    check_same_outputs(*given, summarize_model(request));
  }
  SECTION("another shape") {
    request.inputs = {InputSpec{{2, 3, 224, 224}, DType::kFloat32}};
    std::string why_not;
    CHECK(!summarize_from_archive(request, &why_not));
    CHECK(why_not == "inputs other than the exported ones");
  }
  SECTION("a run asked for") {
    request.use_recorded_shapes = false;
    CHECK(!summarize_from_archive(request));
  }
  SECTION("a memory limit above the estimate: the same answer") {
    request.max_memory_bytes = exported->context.memory_estimate_bytes;
    const std::optional<Summary> limited = summarize_from_archive(request);
    REQUIRE(limited);
    check_same_outputs(*limited, summarize_model(request));
  }
  SECTION("a memory limit below the estimate: declined, and the full path refuses") {
    request.max_memory_bytes = exported->context.memory_estimate_bytes - 1;
    std::string why_not;
    CHECK(!summarize_from_archive(request, &why_not));
    CHECK(why_not == "an estimate above the memory limit");
    try {
      summarize_model(request);
      FAIL("the full path ran past its memory limit");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kResource);
    }
  }
}
#endif
