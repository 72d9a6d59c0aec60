// The report page's layout, on hand-built summaries: the tree (one item per row, repeated blocks folded),
// escaping, the embedded record, and the size limit. The browser tests (tests/browser/) open real pages.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "cnnviz/error.h"
#include "cnnviz/html_report.h"
#include "cnnviz/layer_record.h"
#include "html_checks.h"
#include "records.h"

using namespace cnnviz;
using cnnviz::test::add_node;
using cnnviz::test::call;

namespace {

// Net: stem, stage1 (two equal blocks), stage2 (a block with a downsample, then a plain one), head.
// Calls in the order they start, containers before their children, as forward hooks see them.
std::vector<LayerRecord> sample_records() {
  ModuleTree tree;
  const int root = add_node(tree, "", "Net", -1);
  std::vector<ModuleCall> calls = {call(root, {1, 10})};
  calls.push_back(call(add_node(tree, "stem", "Conv2d", root, 10), {1, 4, 8, 8}));
  const int stage1 = add_node(tree, "stage1", "Sequential", root);
  calls.push_back(call(stage1, {1, 4, 8, 8}));
  for (int b = 0; b < 2; ++b) {
    const std::string p = "stage1." + std::to_string(b);
    const int block = add_node(tree, p, "Block", stage1);
    calls.push_back(call(block, {1, 4, 8, 8}));
    calls.push_back(call(add_node(tree, p + ".conv", "Conv2d", block, 20), {1, 4, 8, 8}));
    calls.push_back(call(add_node(tree, p + ".relu", "ReLU", block), {1, 4, 8, 8}));
  }
  const int stage2 = add_node(tree, "stage2", "Sequential", root);
  calls.push_back(call(stage2, {1, 8, 4, 4}));
  for (int b = 0; b < 2; ++b) {
    const std::string p = "stage2." + std::to_string(b);
    const int block = add_node(tree, p, "Block", stage2);
    calls.push_back(call(block, {1, 8, 4, 4}));
    calls.push_back(call(add_node(tree, p + ".conv", "Conv2d", block, 30), {1, 8, 4, 4}));
    calls.push_back(call(add_node(tree, p + ".relu", "ReLU", block), {1, 8, 4, 4}));
    if (b == 0) calls.push_back(call(add_node(tree, p + ".down", "Conv2d", block, 5), {1, 8, 4, 4}));
  }
  calls.push_back(call(add_node(tree, "head", "Linear", root, 90), {1, 10}));
  return build_layer_records(tree, calls);
}

HtmlReport sample_report() {
  HtmlReport r;
  r.records = sample_records();
  r.stats.total_params = 195;
  r.header.model_path = "models/net <v2>.pt";
  r.header.command_line = "cnnviz report 'models/net <v2>.pt' -o r.html";
  r.record = {{"schema", "cnnviz.report"}, {"note", "</script><script>alert(1)</script> <!-- x"}};
  return r;
}

ReportPicture picture_of(std::size_t bytes, char fill) { return {std::string(bytes, fill), "image/png", 8, 8, "a picture"}; }

}  // namespace

TEST_CASE("html escaping and base64 (RFC 4648's test vectors)", "[report]") {
  CHECK(html_escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  CHECK(html_escape("layer1.0 \u00D7 2") == "layer1.0 \u00D7 2");
  CHECK(base64_encode("").empty());
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode(std::string("\0\xff", 2)) == "AP8=");
}

TEST_CASE("repeated blocks: equal sibling containers of one shape fold, others do not", "[report]") {
  const std::vector<LayerRecord> rows = sample_records();
  const auto groups = repeated_blocks(rows);
  REQUIRE(groups.size() == 1);
  CHECK(rows[groups[0].first].path == "stage1.0");
  // The group ends after stage1.1's last descendant: the next row is stage2.
  REQUIRE(groups[0].second < rows.size());
  CHECK(rows[groups[0].second].path == "stage2");
}

TEST_CASE("the page: one list item per summary row, in order, nested, with the group folded", "[report]") {
  const HtmlReport r = sample_report();
  const std::string html = render_html_report(r);
  CHECK(cnnviz::test::count_occurrences(html, "<li class=\"row\"") == static_cast<int>(r.records.size()));
  CHECK(cnnviz::test::count_occurrences(html, "<li class=\"group\"><details><summary>") == 1);  // closed: no "open"
  CHECK(html.find("Block \u00D7 2") != std::string::npos);
  // Rows appear in record order, each with its index.
  std::size_t pos = 0;
  for (std::size_t i = 0; i < r.records.size(); ++i) {
    const std::string item = "<li class=\"row\" data-path=\"" + r.records[i].path + "\" data-index=\"" + std::to_string(i) + "\">";
    const std::size_t at = html.find(item, pos);
    INFO(item);
    REQUIRE(at != std::string::npos);
    pos = at;
  }
  // Containers open (readable without JavaScript), lists balanced.
  CHECK(cnnviz::test::count_occurrences(html, "<ul") == cnnviz::test::count_occurrences(html, "</ul>"));
  CHECK(cnnviz::test::count_occurrences(html, "<details") == cnnviz::test::count_occurrences(html, "</details>"));
  CHECK(cnnviz::test::count_occurrences(html, "<li") == cnnviz::test::count_occurrences(html, "</li>"));
  // Escaped text; nothing fetched: no external URL, every picture a data: URI, a policy that forbids the rest.
  CHECK(html.find("models/net &lt;v2&gt;.pt") != std::string::npos);
  CHECK(html.find("<v2>") == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("Content-Security-Policy\" content=\"default-src 'none'") != std::string::npos);
  CHECK(render_html_report(r) == html);  // deterministic
}

TEST_CASE("the embedded record reads back unchanged and cannot end its script element", "[report]") {
  HtmlReport r = sample_report();
  r.omitted = {"kernels of x (3 KB): over the page's size limit"};
  const std::string html = render_html_report(r);
  CHECK(html.find("</script><script>alert") == std::string::npos);
  CHECK(html.find("<!-- x") == std::string::npos);
  const auto doc = nlohmann::ordered_json::parse(cnnviz::test::embedded_record_text(html));
  CHECK(doc["schema"] == "cnnviz.report");
  CHECK(doc["note"] == "</script><script>alert(1)</script> <!-- x");
  CHECK(doc["omitted"] == nlohmann::ordered_json(r.omitted));
}

TEST_CASE("the size limit leaves out feature maps first, then kernels, saliency and CAMs, and says so", "[report]") {
  HtmlReport r = sample_report();
  r.kernels.push_back({"stem (Conv2d)", "weight [4, 3, 3, 3]", picture_of(30000, 'k')});
  ReportImage image;
  image.path = "cat.png";
  image.seen = picture_of(3000, 's');
  image.cam_methods = {"gradcam"};
  image.cam_columns = {"top-1"};
  image.cams.push_back({"class:1", "1", 2.5f, "", picture_of(30000, 'c')});
  image.saliency = ReportFigure{"vanilla saliency", "of 1", picture_of(30000, 'v')};
  image.features.push_back({"stem (Conv2d)", "[1, 4, 8, 8]", picture_of(30000, 'a')});
  image.features.push_back({"stage1.0.conv (Conv2d)", "[1, 4, 8, 8]", picture_of(30000, 'b')});
  r.images.push_back(image);
  const int64_t full = static_cast<int64_t>(render_html_report(r).size());

  SECTION("a page within the limit is left as it is") {
    CHECK(fit_html_report(r, full) == full);
    CHECK(r.omitted.empty());
  }
  SECTION("each picture left out is named, the last layer first") {
    const int64_t size = fit_html_report(r, full - 45000);  // more than one picture's base64 (40000)
    CHECK(size <= full - 45000);
    CHECK(size == static_cast<int64_t>(render_html_report(r).size()));
    REQUIRE(r.omitted.size() == 2);
    CHECK(r.omitted[0].find("feature maps of stage1.0.conv (Conv2d) for cat.png (30 KB)") == 0);
    CHECK(r.omitted[1].find("feature maps of stem (Conv2d)") == 0);
    CHECK(!r.kernels[0].picture.bytes.empty());
    const std::string html = render_html_report(r);
    CHECK(cnnviz::test::count_occurrences(html, "class=\"left-out\"") == 2);
  }
  SECTION("then the kernels, the saliency map and the CAMs") {
    fit_html_report(r, full - 4 * 40000);
    REQUIRE(r.omitted.size() >= 4);
    CHECK(r.omitted[2].find("kernels of stem") == 0);
    CHECK(r.omitted[3].find("saliency of cat.png") == 0);
  }
  SECTION("a page too large without any picture is an error, not a truncated page") {
    CHECK_THROWS_MATCHES(fit_html_report(r, 1000), Error, Catch::Predicate<Error>([](const Error& e) {
                           return e.kind() == ErrorKind::kResource && std::string(e.what()).find("--max-size") != std::string::npos;
                         }));
  }
}
