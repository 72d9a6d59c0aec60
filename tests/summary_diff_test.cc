// diff_summaries, its tolerance and renderers, and the summary manifest: hand-built rows for the
// matching rules, the exported diff_* variants for the real thing (expected figures from PyTorch's facts).

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "cnnviz/error.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_diff.h"
#include "cnnviz/summary_manifest.h"
#include "records.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;
using cnnviz::test::add_node;
using cnnviz::test::call;

namespace {

struct Rows {
  std::vector<LayerRecord> records;
  SummaryStats stats;
};

// Net with children conv (Conv2d, 224 params) and then `tail` children, all run once at 1x3x4x4.
Rows net(const std::vector<std::pair<std::string, int64_t>>& children) {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  std::vector<ModuleCall> calls = {call(root, {1, 8}, {1, 3, 4, 4})};
  for (const auto& [path, params] : children) {
    calls.push_back(call(add_node(tree, path, params ? "Conv2d" : "ReLU", root, params), {1, 8, 4, 4}, {1, 3, 4, 4}));
  }
  Rows r;
  r.records = build_layer_records(tree, calls);
  r.stats = compute_summary_stats(r.records, tree, {{{1, 3, 4, 4}, DType::kFloat32}});
  return r;
}

SummaryDiff diff_of(const Rows& a, const Rows& b, int depth = 3) { return diff_summaries(a.records, a.stats, b.records, b.stats, depth); }

std::vector<std::string> changes(const SummaryDiff& d) {
  std::vector<std::string> out;
  for (const auto& m : d.modules) {
    out.push_back(std::string(module_change_name(m.change)) + " " + m.old_path + ">" + m.new_path);
  }
  return out;
}

// PyTorch's facts of an exported model: path -> module entry.
std::map<std::string, nlohmann::json> facts_of(const std::string& name) {
  const auto facts = nlohmann::json::parse(test::read_file(test::model_dir() + "/" + name + ".json"));
  std::map<std::string, nlohmann::json> modules;
  for (const auto& m : facts["modules"]) modules[m["path"]] = m;
  modules["<total>"] = facts["total_params"];
  return modules;
}

Summary summary_of(const std::string& file, bool with_input = true) {
  SummaryRequest request;
  request.model_path = test::model_path(file);
  if (with_input) request.inputs = {{{1, 3, 16, 16}, DType::kFloat32}};
  return summarize_model(request);
}

SummaryDiff diff_files(const std::string& a, const std::string& b, bool with_input = true) {
  const Summary x = summary_of(a, with_input), y = summary_of(b, with_input);
  return diff_summaries(x.records, x.stats, y.records, y.stats, 3);
}

const ModuleDiff* find(const SummaryDiff& d, const std::string& path) {
  for (const auto& m : d.modules) {
    if (m.new_path == path || (m.new_path.empty() && m.old_path == path)) return &m;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("diff: equal rows make an empty diff", "[diff]") {
  const Rows a = net({{"conv", 224}, {"relu", 0}});
  const SummaryDiff d = diff_of(a, a);
  CHECK(d.equal());
  CHECK(d.compared_old_rows == 2);
  CHECK(diff_tolerated(d, {}));
  CHECK_THAT(render_diff_text(d, "a.pt", "b.pt", {}), Contains("No module differs (2 rows compared)") && Contains("Result: equal"));
}

TEST_CASE("diff: a changed figure at the same path and removed and added rows in place", "[diff]") {
  const SummaryDiff d = diff_of(net({{"conv", 224}, {"gone", 0}, {"fc", 80}}), net({{"conv", 448}, {"fc", 80}, {"extra", 10}}));
  CHECK(changes(d) == std::vector<std::string>{"changed conv>conv", "removed gone>", "added >extra"});
  CHECK(d.modules[0].old_params == 224);
  CHECK(d.modules[0].new_params == 448);
  CHECK(d.params.old_value == 304);
  CHECK(d.params.new_value == 538);
  CHECK_FALSE(diff_tolerated(d, parse_diff_tolerance({"renames", "params:1"})));  // added and removed never are
}

TEST_CASE("diff: renames pair the leftover rows in order when only the path changed", "[diff]") {
  // b1 -> c1 and b2 -> c2 keep class and params; b3 (Conv2d, 10) becomes c3 with 20: not a rename.
  const SummaryDiff d = diff_of(net({{"a", 5}, {"b1", 7}, {"b2", 0}, {"b3", 10}}), net({{"a", 5}, {"c1", 7}, {"c2", 0}, {"c3", 20}}));
  CHECK(changes(d) == std::vector<std::string>{"renamed b1>c1", "renamed b2>c2", "removed b3>", "added >c3"});
  const SummaryDiff renames_only = diff_of(net({{"a", 5}, {"b1", 7}}), net({{"a", 5}, {"c1", 7}}));
  CHECK_FALSE(diff_tolerated(renames_only, {}));
  CHECK(diff_tolerated(renames_only, parse_diff_tolerance({"renames"})));
}

TEST_CASE("diff: --tolerate limits are relative to the old figure", "[diff]") {
  const SummaryDiff d = diff_of(net({{"conv", 1000}}), net({{"conv", 1010}}));
  CHECK_FALSE(diff_tolerated(d, parse_diff_tolerance({"params:0.009"})));
  // The conv's mult-adds change with its params: both need a tolerance.
  CHECK_FALSE(diff_tolerated(d, parse_diff_tolerance({"params:0.01"})));
  CHECK(diff_tolerated(d, parse_diff_tolerance({"params:1%", "mult-adds:0.02"})));
  CHECK(parse_diff_tolerance({"params:0.5"}).params == 0.5);
  for (const char* bad : {"rename", "params", "params:", "params:x", "params:-1", "flops:0.1", "params:nan"}) {
    INFO(bad);
    CHECK_THROWS_MATCHES(parse_diff_tolerance({bad}), Error, Catch::Matchers::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::kUsage; }));
  }
}

TEST_CASE("diff: a widened conv against PyTorch's facts", "[diff][models]") {
  const auto base = facts_of("diff_base"), wide = facts_of("diff_wide");
  const SummaryDiff d = diff_files("diff_base.script.pt", "diff_wide.script.pt");
  REQUIRE(d.has_input);
  CHECK(d.params.old_value == base.at("<total>").get<int64_t>());
  CHECK(d.params.new_value == wide.at("<total>").get<int64_t>());
  for (const char* path : {"body", "body.0", "block", "block.0"}) {
    INFO(path);
    const ModuleDiff* m = find(d, path);
    REQUIRE(m);
    CHECK(m->change == ModuleChange::kChanged);
    CHECK(m->old_params == base.at(path)["num_params"].get<int64_t>());
    CHECK(m->new_params == wide.at(path)["num_params"].get<int64_t>());
    CHECK(m->old_output_shape == base.at(path)["output_shape"].get<std::vector<int64_t>>());
    CHECK(m->new_output_shape == wide.at(path)["output_shape"].get<std::vector<int64_t>>());
  }
  CHECK(find(d, "body.1"));  // its output is wider too
  CHECK_FALSE(find(d, "stem.0"));
  CHECK_FALSE(find(d, "head"));
  CHECK_FALSE(diff_tolerated(d, parse_diff_tolerance({"params:10", "mult-adds:10"})));  // shapes changed
}

TEST_CASE("diff: a removed block and a renamed block against PyTorch's facts", "[diff][models]") {
  const auto base = facts_of("diff_base"), removed = facts_of("diff_removed"), renamed = facts_of("diff_renamed");
  SummaryDiff d = diff_files("diff_base.script.pt", "diff_removed.trace.pt");
  std::vector<std::string> gone;
  for (const auto& [path, m] : base) {
    if (path != "<total>" && !removed.count(path)) gone.push_back("removed " + path + ">");
  }
  std::vector<std::string> removed_rows;
  for (const auto& c : changes(d)) {
    if (c.rfind("removed", 0) == 0) removed_rows.push_back(c);
  }
  std::sort(removed_rows.begin(), removed_rows.end());
  std::sort(gone.begin(), gone.end());
  CHECK(removed_rows == gone);  // block, block.0, block.1
  CHECK(d.params.new_value == removed.at("<total>").get<int64_t>());

  d = diff_files("diff_base.script.pt", "diff_renamed.script.pt");
  CHECK(changes(d) == std::vector<std::string>{"renamed block>stage", "renamed block.0>stage.0", "renamed block.1>stage.1"});
  CHECK(d.modules[1].new_params == renamed.at("stage.0")["num_params"].get<int64_t>());
  CHECK_FALSE(d.params.changed());
  CHECK(diff_tolerated(d, parse_diff_tolerance({"renames"})));
  // Without a forward pass only classes and params are compared: still a rename.
  CHECK(changes(diff_files("diff_base.script.pt", "diff_renamed.script.pt", false)).size() == 3);
}

TEST_CASE("diff: a scripted and a traced file of one model are equal", "[diff][models]") {
  CHECK(diff_files("diff_base.script.pt", "diff_base.trace.pt").equal());
}

TEST_CASE("diff: JSON fields", "[diff]") {
  const SummaryDiff d = diff_of(net({{"conv", 224}, {"gone", 0}}), net({{"conv", 448}, {"new", 0}}));
  const auto doc = diff_to_json(d, "a.pt", "b.pt", {});
  CHECK(doc["schema"] == "cnnviz.diff");
  CHECK(doc["schema_version"] == kDiffSchemaVersion);
  CHECK(doc["old"]["path"] == "a.pt");
  CHECK(doc["equal"] == false);
  CHECK(doc["tolerated"] == false);
  REQUIRE(doc["modules"].size() == 2);  // gone (ReLU) -> new (ReLU): a rename
  CHECK(doc["modules"][0]["change"] == "changed");
  CHECK(doc["modules"][0]["params"]["delta"] == 224);
  CHECK(doc["modules"][1]["change"] == "renamed");
  CHECK(doc["modules"][1]["old_path"] == "gone");
  CHECK(doc["modules"][1]["new_path"] == "new");
  CHECK(doc["totals"]["params"]["old"] == 224);
  CHECK(doc["totals"]["params"]["new"] == 448);
  CHECK(doc["totals"].contains("mult_adds"));
  const auto added = diff_to_json(diff_of(net({{"conv", 224}}), net({{"conv", 224}, {"fc", 10}})), "a", "b", {});
  CHECK(added["modules"][0]["old_path"].is_null());
  CHECK(added["modules"][0]["params"]["old"].is_null());
  CHECK(added["modules"][0]["params"]["delta"] == 10);
}

TEST_CASE("manifest: lines and matching and mismatches", "[diff][manifest]") {
  const auto m = parse_manifest("{\"model\": \"a.pt\", \"params\": 10}\n\n{\"model\": \"dir/b.pt\", \"params\": 5, \"mult_adds\": 7, \"flops\": null}\n",
                                "m.json");
  REQUIRE(m.size() == 2);
  CHECK(m[1].line == 3);
  CHECK(m[1].mult_adds == 7);
  CHECK_FALSE(m[1].flops);
  CHECK(find_manifest_entry(m, "a.pt") == &m[0]);
  CHECK(find_manifest_entry(m, "/models/a.pt") == &m[0]);  // by file name: the entry has no '/'
  CHECK(find_manifest_entry(m, "dir/b.pt") == &m[1]);
  CHECK(find_manifest_entry(m, "b.pt") == nullptr);  // an entry with a directory matches only as given
  CHECK(manifest_line(m[1]) == "{\"model\":\"dir/b.pt\",\"params\":5,\"mult_adds\":7}\n");
  CHECK(manifest_mismatches(m[0], 10, std::nullopt, std::nullopt).empty());
  CHECK(manifest_mismatches(m[1], 6, 7, std::nullopt) == std::vector<std::string>{"params: expected 5, actual 6"});
  CHECK(manifest_mismatches(m[1], 5, std::nullopt, std::nullopt) == std::vector<std::string>{"mult_adds: expected 7, actual not counted"});
  for (const char* bad : {"{\"model\": \"a.pt\", \"params\": 1", "[1]", "{\"params\": 1}", "{\"model\": \"a.pt\"}",
                          "{\"model\": \"a.pt\", \"params\": -1}", "{\"model\": \"a.pt\", \"params\": 1.5}",
                          "{\"model\": \"a.pt\", \"params\": 1}\n{\"model\": \"a.pt\", \"params\": 2}"}) {
    INFO(bad);
    CHECK_THROWS_MATCHES(parse_manifest(bad, "m.json"), Error, Catch::Matchers::Predicate<Error>([](const Error& e) {
                           return e.kind() == ErrorKind::kUsage && std::string(e.what()).find("'m.json' line") != std::string::npos;
                         }));
  }
}
