// Invariants on every exported model, scripted and traced, checked against what PyTorch itself
// reported for the eager model (models/export_models.py writes <name>.json from forward hooks).

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "cnnviz/summary.h"
#include "cnnviz/summary_json.h"
#include "cnnviz/summary_text.h"
#include "test_env.h"

using namespace cnnviz;

namespace {

int64_t parse_count(const std::string& cell) {
  std::string digits;
  for (char c : cell) {
    if (c != ',') digits += c;
  }
  return std::stoll(digits);
}

// Sums a column's numeric cells in the rendered table (skipping "--" and "(recursive)"), as torchinfo's
// own test suite does with assert_sum_column_totals_match. Cells start where their titles start in
// the header, counted in code points (the tree glyphs are multi-byte).
int64_t sum_column(const std::string& text, const std::string& title) {
  auto drop_code_points = [](const std::string& line, std::size_t n) {
    std::size_t i = 0;
    for (; i < line.size() && n > 0; ++i) {
      if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80 && --n == 0) {
        while (i + 1 < line.size() && (static_cast<unsigned char>(line[i + 1]) & 0xC0) == 0x80) ++i;
      }
    }
    return i >= line.size() ? std::string() : line.substr(i);
  };
  std::istringstream lines(text);
  std::string line;
  int dividers = 0;
  std::size_t start = std::string::npos;
  int64_t sum = 0;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] == '=') {
      ++dividers;
      continue;
    }
    if (dividers == 1) start = line.find(title);  // the header is ASCII
    if (dividers != 2) continue;
    std::istringstream cell(drop_code_points(line, start));
    std::string v;
    if (!(cell >> v)) continue;
    if (v.size() > 2 && v.front() == '(' && v.back() == ')') v = v.substr(1, v.size() - 2);  // non-trainable
    if (std::isdigit(static_cast<unsigned char>(v[0]))) sum += parse_count(v);
  }
  return sum;
}

int64_t footer_value(const std::string& text, const std::string& label) {
  const auto at = text.find(label + ": ");
  REQUIRE(at != std::string::npos);
  return parse_count(text.substr(at + label.size() + 2, text.find('\n', at) - at - label.size() - 2));
}

}  // namespace

TEST_CASE("invariants hold for every exported model", "[invariants][models]") {
  std::vector<std::string> facts_files;
  for (const auto& entry : std::filesystem::directory_iterator(test::model_dir())) {
    if (entry.path().extension() == ".json") facts_files.push_back(entry.path().string());
  }
  std::sort(facts_files.begin(), facts_files.end());
  REQUIRE(facts_files.size() >= 15);

  for (const auto& facts_file : facts_files) {
    // A scripted detector returns (losses, detections) where the eager one returns detections, and its
    // parts return other types than their eager hooks saw: cli_test.cc checks it on its own terms.
    if (nlohmann::json::parse(test::read_file(facts_file)).value("detector", false)) continue;
    const auto facts = nlohmann::json::parse(test::read_file(facts_file));
    const std::string name = facts["name"];
    std::vector<InputSpec> inputs;
    for (const auto& shape : facts["input_shapes"]) inputs.push_back({shape.get<std::vector<int64_t>>(), DType::kFloat32});
    for (const auto& file : facts["files"]) {
      INFO(file.get<std::string>());
      SummaryRequest request;
      request.model_path = test::model_path(file);
      request.inputs = inputs;
      const Summary s = summarize_model(request);
      const bool frozen = s.context.frozen;

      if (!frozen) {
        // Parameter counts agree with PyTorch's sum(p.numel() for p in model.parameters()).
        CHECK(s.stats.total_params == facts["total_params"].get<int64_t>());
        CHECK(s.stats.trainable_params == facts["trainable_params"].get<int64_t>());
        // torchinfo's way of adding up rows reaches the same total.
        CHECK(s.stats.torchinfo_total_params == s.stats.total_params);
      } else {
        CHECK(s.records.size() == 1);
        CHECK(s.stats.total_params > 0);
      }

      // The text's columns add up to its totals, and the JSON says the same.
      TextOptions o;
      o.depth = 1000;
      o.columns = {Column::kNumParams, Column::kMultAdds};
      const std::string text = render_summary_text(s.records, s.stats, o);
      CHECK(sum_column(text, "Param #") == footer_value(text, "Total params"));
      CHECK(sum_column(text, "Mult-Adds") == s.stats.total_mult_adds);
      const auto json = nlohmann::json::parse(summary_to_json(s.records, s.stats, s.context).dump());
      CHECK(json["layers"].size() == s.records.size());
      CHECK(json["totals"]["params"].get<int64_t>() == footer_value(text, "Total params"));
      CHECK(json["totals"]["mult_adds"].get<int64_t>() == s.stats.total_mult_adds);
      if (frozen) continue;

      // Every module call PyTorch saw, with the same output shape (first call).
      std::map<std::string, std::string> alias_of;
      std::map<std::string, int> calls_expected;
      std::map<std::string, std::vector<int64_t>> shape_expected;
      for (const auto& m : facts["modules"]) {
        const std::string path = m["path"];
        if (m.contains("alias_of")) {
          alias_of[path] = m["alias_of"];
          continue;
        }
        calls_expected[path] = m["num_calls"];
        if (!m["output_shape"].is_null()) shape_expected[path] = m["output_shape"].get<std::vector<int64_t>>();
      }
      std::map<std::string, int> calls_seen;
      for (const auto& r : s.records) {
        if (!r.executed) continue;
        const std::string path = alias_of.count(r.path) ? alias_of[r.path] : r.path;
        ++calls_seen[path];
        INFO("row " << r.path << " call " << r.call_index);
        const bool corner_case = name == "edge" && (r.class_name == "Identity" || r.class_name == "CountAndPool");
        if (!corner_case) CHECK_FALSE(r.output_shape.empty());
        if (r.call_index == 0 && !r.output_shape.empty() && shape_expected.count(path)) {
          CHECK(r.output_shape == shape_expected[path]);
        }
      }
      for (const auto& [path, n] : calls_expected) {
        INFO("module '" << path << "'");
        CHECK(calls_seen[path] == n);
      }
    }
  }
}
