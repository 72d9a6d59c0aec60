// `cnnviz diff` and `cnnviz summary` of several models with a manifest (--expect-file,
// --write-expect-file), run as a user would, on the diff_* variants; figures from PyTorch's facts.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_checks.h"
#include "test_env.h"

using Catch::Matchers::Contains;
using cnnviz::test::check_error;
using cnnviz::test::model_path;
using cnnviz::test::run_cnnviz;
using cnnviz::test::TempDir;

namespace {

const std::vector<std::string> kInput = {"--input", "1,3,16,16"};

std::vector<std::string> args(std::vector<std::string> a, bool with_input = true) {
  if (with_input) a.insert(a.end(), kInput.begin(), kInput.end());
  return a;
}

nlohmann::json facts(const std::string& name) {
  return nlohmann::json::parse(cnnviz::test::read_file(cnnviz::test::model_dir() + "/" + name + ".json"));
}

int64_t facts_params(const std::string& name, const std::string& path) {
  const nlohmann::json doc = facts(name);
  for (const auto& m : doc["modules"]) {
    if (m["path"] == path) return m["num_params"];
  }
  FAIL("no module " << path << " in " << name << ".json");
  return -1;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("diff: equal models exit 0", "[cli][diff][models]") {
  const auto r = run_cnnviz(args({"diff", model_path("diff_base.script.pt"), model_path("diff_base.trace.pt")}));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Contains("No module differs (12 rows compared)") && Contains("Result: equal"));
  const std::string total = "Total params: 3,882\n";
  CHECK_THAT(r.out, Contains(total));
  CHECK(facts("diff_base")["total_params"] == 3882);
}

TEST_CASE("diff: a widened layer exits 10 naming the module and its params", "[cli][diff][models]") {
  const std::string base = model_path("diff_base.script.pt"), wide = model_path("diff_wide.script.pt");
  auto r = run_cnnviz(args({"diff", base, wide}));
  CHECK(r.exit_code == 10);
  CHECK(r.err == "cnnviz: error: '" + wide + "' differs from '" + base + "': 5 module rows differ (listed above)\n");
  const int64_t old_params = facts_params("diff_base", "body.0"), new_params = facts_params("diff_wide", "body.0");
  // "changed   body.0   Conv2d   1,168 -> 1,752 (+584)   [1, 16, 16, 16] -> [1, 24, 16, 16]"
  const auto thousands = [](int64_t n) { return n >= 1000 ? std::to_string(n / 1000) + "," + std::to_string(n % 1000 + 1000).substr(1) : std::to_string(n); };
  CHECK_THAT(r.out, Contains(thousands(old_params) + " -> " + thousands(new_params) + " (+" + std::to_string(new_params - old_params) + ")"));
  CHECK_THAT(r.out, Contains("[1, 16, 16, 16] -> [1, 24, 16, 16]"));
  CHECK_THAT(r.out, Contains("Result: different\n"));

  r = run_cnnviz(args({"diff", base, wide, "--format", "json"}));
  CHECK(r.exit_code == 10);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "cnnviz.diff");
  CHECK(doc["equal"] == false);
  CHECK(doc["tolerated"] == false);
  CHECK(doc["totals"]["params"]["old"] == facts("diff_base")["total_params"]);
  CHECK(doc["totals"]["params"]["new"] == facts("diff_wide")["total_params"]);
  REQUIRE(doc["modules"].size() == 5);
  const auto& body0 = doc["modules"][1];
  CHECK(body0["change"] == "changed");
  CHECK(body0["new_path"] == "body.0");
  CHECK(body0["params"]["delta"] == new_params - old_params);
  CHECK(body0["output_shape"]["new"] == std::vector<int>{1, 24, 16, 16});
  CHECK(body0["mult_adds"]["delta"].get<int64_t>() > 0);
  // Shapes changed: no --tolerate accepts that.
  CHECK(run_cnnviz(args({"diff", base, wide, "--tolerate", "params:10,mult-adds:10"})).exit_code == 10);
  // Without --input only params are compared: body.0 grows by exactly half (1,168 -> 1,752), block.0 by a bit less.
  CHECK(run_cnnviz(args({"diff", base, wide, "--tolerate", "params:0.4"}, false)).exit_code == 10);
  CHECK(run_cnnviz(args({"diff", base, wide, "--tolerate", "params:50%"}, false)).exit_code == 0);
}

TEST_CASE("diff: a removed block is listed as removed rows", "[cli][diff][models]") {
  const auto r = run_cnnviz(args({"diff", model_path("diff_base.script.pt"), model_path("diff_removed.script.pt"), "--format", "json"}));
  CHECK(r.exit_code == 10);
  const auto doc = nlohmann::json::parse(r.out);
  std::vector<std::string> removed;
  for (const auto& m : doc["modules"]) {
    if (m["change"] == "removed") removed.push_back(m["old_path"]);
  }
  CHECK(removed == std::vector<std::string>{"block", "block.0", "block.1"});
  CHECK(doc["totals"]["params"]["delta"] == -facts_params("diff_base", "block"));
  const auto text = run_cnnviz(args({"diff", model_path("diff_base.script.pt"), model_path("diff_removed.script.pt")}));
  CHECK_THAT(text.out, Contains("removed  block.0  Conv2d      2,320    [1, 16, 16, 16]  ") && Contains("Total params: 3,882 -> 1,562 (-2,320, -59.76%)"));
}

TEST_CASE("diff: a renamed block is a rename and --tolerate renames accepts it", "[cli][diff][models]") {
  const std::string base = model_path("diff_base.script.pt"), renamed = model_path("diff_renamed.script.pt");
  auto r = run_cnnviz(args({"diff", base, renamed}));
  CHECK(r.exit_code == 10);
  CHECK_THAT(r.out, Contains("renamed  block -> stage") && Contains("renamed  block.0 -> stage.0"));
  r = run_cnnviz(args({"diff", base, renamed, "--tolerate", "renames"}));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("renamed (ok)") && Contains("Result: different, within --tolerate"));
  CHECK(run_cnnviz({"diff", base, "--input", "1,3,16,16", "--tolerate", "renames", renamed}).exit_code == 0);
  r = run_cnnviz(args({"diff", base, renamed, "--tolerate", "renames", "--format", "json"}));
  CHECK(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["tolerated"] == true);
  CHECK(doc["modules"][0]["old_path"] == "block");
  CHECK(doc["modules"][0]["new_path"] == "stage");
  CHECK(doc["modules"][0]["params"]["new"] == facts_params("diff_renamed", "stage"));
}

TEST_CASE("diff: bad options and inputs are one-line errors", "[cli][diff][models]") {
  const std::string base = model_path("diff_base.script.pt");
  check_error({"diff", base}, 2, {"new"});
  check_error({"diff", base, base, "--tolerate", "names"}, 2, {"--tolerate 'names'"});
  check_error({"diff", base, base, "--tolerate", "params:x"}, 2, {"'x' is not a relative change"});
  check_error({"diff", base, "/nonexistent/new.pt"}, 3, {"'/nonexistent/new.pt'", "no such file"});
}

TEST_CASE("summary: several models with one table or JSON line each", "[cli][diff][manifest][models]") {
  const std::string base = model_path("diff_base.script.pt"), wide = model_path("diff_wide.trace.pt");
  auto r = run_cnnviz(args({"summary", base, wide}));
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.rfind("Model: " + base + "\n=====", 0) == 0);
  CHECK_THAT(r.out, Contains("\n\nModel: " + wide + "\n=====") && Contains("Total params: 3,882") && Contains("Total params: 5,618"));
  // One model prints exactly what it always did.
  const auto one = run_cnnviz(args({"summary", base}));
  CHECK(r.out.substr(("Model: " + base + "\n").size(), one.out.size()) == one.out);

  r = run_cnnviz(args({"summary", base, wide, model_path("diff_removed.script.pt"), "--format", "json"}));
  CHECK(r.exit_code == 0);
  REQUIRE(cnnviz::test::count_lines(r.out) == 3);
  const auto lines = json_lines(r.out);
  CHECK(lines[0]["schema"] == "cnnviz.summary");
  CHECK(lines[0]["model"]["path"] == base);
  CHECK(lines[1]["totals"]["params"] == facts("diff_wide")["total_params"]);
  CHECK(lines[2]["totals"]["params"] == facts("diff_removed")["total_params"]);

  // Options may come between the models: each --input takes one value.
  r = run_cnnviz({"summary", base, "--input", "1,3,16,16", "--dtype", "float32", wide, "--format", "json"});
  CHECK(r.exit_code == 0);
  CHECK(cnnviz::test::count_lines(r.out) == 2);

  check_error(args({"summary", base, wide, "--format", "csv"}), 2, {"--format csv takes one model"});
  check_error(args({"summary", base, wide, "--expect-params", "1"}), 2, {"--expect-file"});
  // The run stops at the first model that fails: nothing on stdout.
  check_error(args({"summary", base, "/nonexistent/b.pt", wide}), 3, {"'/nonexistent/b.pt'"});
}

TEST_CASE("summary: --write-expect-file and --expect-file gate several models", "[cli][diff][manifest][models]") {
  TempDir dir;
  const std::string base = model_path("diff_base.script.pt"), wide = model_path("diff_wide.script.pt"),
                    removed = model_path("diff_removed.script.pt");
  const std::string manifest = dir.file("expected.json");
  auto r = run_cnnviz(args({"summary", base, wide, removed, "--format", "json", "--write-expect-file", manifest}));
  REQUIRE(r.exit_code == 0);
  const auto written = json_lines(cnnviz::test::read_file(manifest));
  REQUIRE(written.size() == 3);
  CHECK(written[0]["model"] == base);
  CHECK(written[0]["params"] == facts("diff_base")["total_params"]);
  CHECK(written[1]["params"] == facts("diff_wide")["total_params"]);
  CHECK(written[2]["params"] == facts("diff_removed")["total_params"]);
  CHECK(written[0]["mult_adds"] == json_lines(r.out)[0]["totals"]["mult_adds"]);
  CHECK(std::filesystem::directory_iterator(dir.path())->path() == manifest);  // no temporary file left

  // The manifest passes.
  r = run_cnnviz(args({"summary", base, wide, removed, "--expect-file", manifest}));
  INFO(r.err);
  CHECK(r.exit_code == 0);

  // By file name: an entry without a directory matches a model in any directory.
  const std::string by_name = dir.file("by-name.json");
  write(by_name, "{\"model\": \"diff_base.script.pt\", \"params\": 3882}\n{\"model\": \"diff_wide.script.pt\", \"params\": 5618}\n");
  CHECK(run_cnnviz(args({"summary", base, wide, "--expect-file", by_name}, false)).exit_code == 0);

  // A changed figure: every summary printed, then exit 10 naming that model only.
  const std::string changed = dir.file("changed.json");
  write(changed, "{\"model\": \"diff_base.script.pt\", \"params\": 3882}\n{\"model\": \"diff_wide.script.pt\", \"params\": 3882}\n"
                 "{\"model\": \"diff_removed.script.pt\", \"params\": 1562}\n");
  r = run_cnnviz(args({"summary", base, wide, removed, "--expect-file", changed}));
  CHECK(r.exit_code == 10);
  CHECK(r.err == "cnnviz: error: --expect-file '" + changed + "': 1 of 3 models differ: '" + wide +
                     "' (params: expected 3882, actual 5618)\n");
  CHECK_THAT(r.out, Contains("Model: " + removed));

  // A model the manifest lacks, and a line that is not JSON: usage errors before anything runs.
  check_error(args({"summary", base, model_path("diff_renamed.script.pt"), "--expect-file", by_name}), 2,
              {"has no line for '" + model_path("diff_renamed.script.pt") + "'"});
  const std::string broken = dir.file("broken.json");
  write(broken, "{\"model\": \"diff_base.script.pt\", \"params\": 3882}\n{\"model\": \"diff_wide.script.pt\", params: 5618}\n");
  check_error(args({"summary", base, "--expect-file", broken}), 2, {"line 2 is not valid JSON"});
  check_error(args({"summary", base, "--expect-file", dir.file("none.json")}), 3, {"none.json", "no such file"});
  // flops in a line makes the run count them (as --expect-flops does); a wrong figure names them.
  const std::string flops = dir.file("flops.json");
  write(flops, "{\"model\": \"diff_base.script.pt\", \"params\": 3882, \"flops\": 1}\n");
  r = run_cnnviz(args({"summary", base, "--expect-file", flops}));
  CHECK(r.exit_code == 10);
  CHECK_THAT(r.err, Contains("'" + base + "' (flops: expected 1, actual "));
  // mult_adds need a forward pass.
  check_error(args({"summary", base, "--expect-file", manifest}, false), 2, {"mult_adds needs a forward pass"});
}
