#include "cnnviz/html_report.h"

#include <fmt/core.h>
#include <openssl/evp.h>

#include <functional>

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/summary_text.h"

namespace cnnviz {
namespace {

// The page's style: system fonts only, contrast and bars that survive grey-scale printing (every share
// is also written as a number), indentation by depth on the name cell so that columns stay aligned.
constexpr const char* kStyle = R"css(
:root{--ink:#111;--muted:#555;--rule:#bbb;--bar:#333;--track:#e4e4e4;--hi:#fff3b0}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#fff}
header,main,nav{max-width:1280px;margin:0 auto;padding:0 16px}
h1{font-size:1.4em;margin:16px 0 8px}h2{font-size:1.2em;margin:28px 0 8px;border-bottom:2px solid var(--ink)}
h3{font-size:1.1em;margin:22px 0 6px}h4{font-size:1em;margin:16px 0 6px}
code,pre,.num,.shape{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 8px}
dl.meta dt{font-weight:600}dl.meta dd{margin:0;word-break:break-all}
nav{padding-top:4px;padding-bottom:4px;border-bottom:1px solid var(--rule)}nav a{margin-right:14px}
a{color:inherit}a:focus,summary:focus,input:focus{outline:3px solid var(--ink);outline-offset:1px}
.search{margin:6px 0 10px}.search input{font:inherit;padding:3px 6px;width:22em;border:1px solid var(--muted)}
#search-status{margin-left:10px;color:var(--muted)}
.tree,.tree ul{list-style:none;margin:0;padding:0}
.tree details>summary{list-style:none;cursor:pointer}.tree details>summary::-webkit-details-marker{display:none}
.cells{display:grid;grid-template-columns:minmax(18em,1fr) 12em 8.5em 9.5em var(--flops-col,0) 11em;gap:0 10px;
  align-items:center;padding:1px 4px;border-bottom:1px solid #eee}
.cells.head{font-weight:600;border-bottom:2px solid var(--ink);position:sticky;top:0;background:#fff;z-index:1}
.cells>span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.name{padding-left:calc(var(--d,0)*1.3em)}
.name::before{content:"";display:inline-block;width:1.2em}
details>summary .name::before{content:"\25B8"}details[open]>summary .name::before{content:"\25BE"}
.cls{color:var(--muted);margin-left:.5em}
.num{text-align:right}
.share{display:flex;align-items:center;gap:6px}
.bar{flex:1;height:.8em;background:var(--track);border:1px solid var(--muted)}
.bar>span{display:block;height:100%;background:var(--bar)}
.pct{width:3.8em;text-align:right;font-family:ui-monospace,monospace;font-size:.9em}
li.group>details>summary .cells{font-style:italic}
li.match>.cells,li.match>details>summary>.cells{background:var(--hi);font-weight:700;outline:1px solid var(--ink)}
pre.totals{background:#f6f6f6;padding:8px;overflow:auto;border:1px solid var(--rule)}
.figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;max-width:100%}figcaption{font-size:.85em;color:var(--muted);max-width:260px;word-break:break-word}
figcaption b{color:var(--ink)}
.figs img{width:240px;height:auto;image-rendering:pixelated;border:1px solid var(--rule);background:#fff}
.seen img{width:224px;height:auto;border:1px solid var(--rule)}
.overview{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table{border-collapse:collapse}th,td{border:1px solid var(--rule);padding:3px 8px;text-align:left;vertical-align:top}
td.num{text-align:right}caption{text-align:left;font-weight:600;padding-bottom:4px}
.gallery img{width:224px;height:auto}
.left-out{width:224px;padding:20px 8px;border:1px dashed var(--muted);color:var(--muted);font-size:.85em}
.notes{color:var(--muted)}
@media print{nav,.search{display:none}.cells.head{position:static}}
)css";

// Search by module path: rows that match get class "match", their ancestors stay shown and open, the
// other rows are hidden; an empty box restores the tree as it was. "/" jumps to the box.
constexpr const char* kScript = R"js(
(function(){
  var box=document.getElementById('search'),status=document.getElementById('search-status');
  var tree=document.querySelector('#summary .tree');
  if(!box||!tree)return;
  document.getElementById('search-box').hidden=false;
  var rows=[].slice.call(tree.querySelectorAll('li.row')),groups=[].slice.call(tree.querySelectorAll('li.group'));
  var details=[].slice.call(tree.querySelectorAll('details')),initial=details.map(function(d){return d.open;});
  function apply(){
    var q=box.value.trim().toLowerCase(),n=0,keep=new Set();
    rows.forEach(function(r){r.classList.remove('match');});
    if(!q){rows.concat(groups).forEach(function(e){e.hidden=false;});details.forEach(function(d,i){d.open=initial[i];});status.textContent='';return;}
    rows.forEach(function(r){
      if(r.getAttribute('data-path').toLowerCase().indexOf(q)<0)return;
      r.classList.add('match');n++;
      for(var e=r;e&&e!==tree;e=e.parentElement){if(e.tagName==='LI')keep.add(e);else if(e.tagName==='DETAILS'&&e!==r)e.open=true;}
    });
    rows.concat(groups).forEach(function(e){e.hidden=!keep.has(e);});
    status.textContent=n+(n===1?' match':' matches');
    var first=tree.querySelector('li.match');if(first&&first.scrollIntoView)first.scrollIntoView({block:'nearest'});
  }
  box.addEventListener('input',apply);
  document.addEventListener('keydown',function(ev){if(ev.key==='/'&&document.activeElement!==box){ev.preventDefault();box.focus();}});
})();
)js";

std::string shape_text(const std::vector<int64_t>& shape) { return shape.empty() ? "--" : shape_to_string(shape); }

std::string count_text(int64_t n) { return n > 0 ? with_thousands(n) : "--"; }

std::string picture_html(const ReportPicture& p, const std::string& left_out_note) {
  if (p.bytes.empty()) return "<p class=\"left-out\">" + html_escape(left_out_note) + "</p>";
  return fmt::format("<img src=\"data:{};base64,{}\" width=\"{}\" height=\"{}\" loading=\"lazy\" decoding=\"async\" alt=\"{}\">",
                     p.mime, base64_encode(p.bytes), p.width, p.height, html_escape(p.alt));
}

constexpr const char* kLeftOut = "left out to keep the page under its size limit (see Left out)";

std::string figure_html(const ReportFigure& f) {
  return "<figure>" + picture_html(f.picture, kLeftOut) + "<figcaption><b>" + html_escape(f.title) + "</b><br>" + html_escape(f.caption) +
         "</figcaption></figure>";
}

// Two sibling rows are repeated blocks when both are containers of one class with the same output shape
// and the same rows below them, class by class (ResNet's layer1.0 and layer1.1; not layer2.0, whose
// downsample layer2.1 lacks; not the stages layer2 and layer3, whose shapes differ).
bool same_block(const std::vector<LayerRecord>& rows, std::size_t a, std::size_t b) {
  const LayerRecord& x = rows[a];
  const LayerRecord& y = rows[b];
  if (x.is_leaf || y.is_leaf || x.class_name != y.class_name || x.depth != y.depth || x.output_shape != y.output_shape) return false;
  if (x.subtree_end - a != y.subtree_end - b) return false;
  for (std::size_t i = 1; a + i < x.subtree_end; ++i) {
    if (rows[a + i].class_name != rows[b + i].class_name || rows[a + i].depth - x.depth != rows[b + i].depth - y.depth) return false;
  }
  return true;
}

// The direct children of rows [first, end), cut into runs: a run of two or more is a group of repeated
// blocks (same_block), a run of one a row of its own.
std::vector<std::vector<std::size_t>> sibling_runs(const std::vector<LayerRecord>& rows, std::size_t first, std::size_t end) {
  std::vector<std::vector<std::size_t>> runs;
  for (std::size_t j = first; j < end; j = std::max(rows[j].subtree_end, j + 1)) {
    if (runs.empty() || !same_block(rows, runs.back().front(), j)) runs.emplace_back();
    runs.back().push_back(j);
  }
  return runs;
}

// The summary tree.
class TreeWriter {
 public:
  explicit TreeWriter(const HtmlReport& report) : r_(report), rows_(report.records) {
    const int64_t mult_adds = report.stats.total_mult_adds;
    by_mult_adds_ = report.has_shapes && mult_adds > 0;
    share_total_ = by_mult_adds_ ? mult_adds : report.stats.total_params;
  }

  std::string write() {
    out_ += "<div class=\"cells head\" aria-hidden=\"true\"><span>Module (class)</span><span>Output shape</span><span class=\"num\">Param #</span>"
            "<span class=\"num\">Mult-Adds</span>";
    out_ += r_.has_flops ? "<span class=\"num\">FLOPs</span>" : "<span></span>";
    out_ += std::string("<span>Share of ") + (by_mult_adds_ ? "mult-adds" : "params") + "</span></div>\n<ul class=\"tree\">\n";
    children(0, rows_.size());
    out_ += "</ul>\n";
    return out_;
  }

 private:
  int64_t mult_adds_of(const LayerRecord& row) const { return row.is_leaf ? row.mult_adds : row.leaf_mult_adds; }
  int64_t share_of(const LayerRecord& row) const {
    if (row.is_recursive) return 0;
    return by_mult_adds_ ? mult_adds_of(row) : row.num_params;
  }

  void cells(const std::string& name, const std::string& cls, int depth, const std::string& shape, const std::string& title,
             const std::string& params, const std::string& mult_adds, const std::string& flops, int64_t share) {
    const double pct = share_total_ > 0 ? 100.0 * static_cast<double>(share) / static_cast<double>(share_total_) : 0.0;
    out_ += fmt::format(
        "<div class=\"cells\"><span class=\"name\" style=\"--d:{}\">{}<span class=\"cls\">{}</span></span><span class=\"shape\" title=\"{}\">{}</span>"
        "<span class=\"num\">{}</span><span class=\"num\">{}</span><span class=\"num\">{}</span>"
        "<span class=\"share\"><span class=\"bar\"><span style=\"width:{:.1f}%\"></span></span><span class=\"pct\">{:.1f}%</span></span></div>",
        depth, html_escape(name), html_escape(cls), html_escape(title), html_escape(shape), params, mult_adds, flops, pct, pct);
  }

  void row(std::size_t i) {
    const LayerRecord& row = rows_[i];
    const bool parent = row.subtree_end > i + 1;
    const std::string name = row.path.empty() ? row.class_name : row.var_name;
    const std::string cls = row.path.empty() ? "" : row.class_name;
    const std::string title = "input " + shape_text(row.input_shape) + " \u2192 output " + shape_text(row.output_shape);
    const std::string params = row.is_recursive ? "(recursive)" : count_text(row.num_params);
    const std::string flops = r_.has_flops && row.flops >= 0 ? count_text(row.flops) : "";
    out_ += fmt::format("<li class=\"row\" data-path=\"{}\" data-index=\"{}\">", html_escape(row.path), i);
    if (parent) out_ += "<details open><summary>";
    cells(name, cls, row.depth, shape_text(row.output_shape), title, params, count_text(mult_adds_of(row)), flops, share_of(row));
    if (parent) {
      out_ += "</summary><ul>\n";
      children(i + 1, row.subtree_end);
      out_ += "</ul></details>";
    }
    out_ += "</li>\n";
  }

  // The direct children of rows [first, end), consecutive containers of one class folded into a group.
  void children(std::size_t first, std::size_t end) {
    for (const std::vector<std::size_t>& run : sibling_runs(rows_, first, end)) {
      if (run.size() < 2) {
        row(run.front());
        continue;
      }
      int64_t params = 0, mult_adds = 0, share = 0, flops = 0;
      bool all_flops = r_.has_flops;
      for (std::size_t g : run) {
        const LayerRecord& member = rows_[g];
        if (member.is_recursive) continue;
        params += member.num_params;
        mult_adds += mult_adds_of(member);
        share += share_of(member);
        if (member.flops < 0) all_flops = false;
        flops += std::max<int64_t>(member.flops, 0);
      }
      const LayerRecord& head = rows_[run.front()];
      const LayerRecord& last = rows_[run.back()];
      out_ += "<li class=\"group\"><details><summary>";
      cells(head.class_name + " \u00D7 " + std::to_string(run.size()), "", head.depth, shape_text(last.output_shape),
            "repeated blocks: " + head.path + " to " + last.path, count_text(params), count_text(mult_adds), all_flops ? count_text(flops) : "",
            share);
      out_ += "</summary><ul>\n";
      for (std::size_t g : run) row(g);
      out_ += "</ul></details></li>\n";
    }
  }

  const HtmlReport& r_;
  const std::vector<LayerRecord>& rows_;
  bool by_mult_adds_ = false;
  int64_t share_total_ = 0;
  std::string out_;
};

std::string predictions_table(const std::vector<Prediction>& predictions) {
  std::string out = "<table class=\"predictions\"><caption>Top-" + std::to_string(predictions.size()) +
                    " predictions</caption><thead><tr><th>#</th><th>Class</th><th>Probability</th><th>Score</th></tr></thead><tbody>";
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const Prediction& p = predictions[i];
    out += fmt::format("<tr><td>{}</td><td>{}{}</td><td class=\"num\">{:.4f}</td><td class=\"num\">{:.4f}</td></tr>", i + 1, p.index,
                       p.label.empty() ? "" : " (" + html_escape(p.label) + ")", p.probability, p.score);
  }
  return out + "</tbody></table>";
}

std::string image_section(const ReportImage& image, std::size_t n) {
  const std::string id = "image-" + std::to_string(n);
  std::string out = fmt::format("<section class=\"image-report\" id=\"{}\" aria-labelledby=\"{}-title\">\n<h3 id=\"{}-title\">Image {}: <code>{}</code></h3>\n",
                                id, id, id, n, html_escape(image.path));
  out += "<div class=\"overview\"><figure class=\"seen\">" + picture_html(image.seen, kLeftOut) +
         fmt::format("<figcaption>As the model saw it: {} \u00D7 {}</figcaption></figure>\n", image.seen.width, image.seen.height);
  if (!image.predictions.empty()) out += predictions_table(image.predictions);
  if (!image.detections.empty()) {
    out += "<div><b>Detections</b><ol class=\"detections\">";
    for (const auto& d : image.detections) out += "<li>" + html_escape(d) + "</li>";
    out += "</ol></div>";
  }
  out += "</div>\n";
  if (!image.cams.empty()) {
    out += "<h4>Where the model looks: <code>" + html_escape(image.cam_layer) + "</code></h4>\n<table class=\"gallery\"><thead><tr><th>Method</th>";
    for (const auto& c : image.cam_columns) out += "<th>" + html_escape(c) + "</th>";
    out += "</tr></thead><tbody>\n";
    const std::size_t cols = image.cam_columns.size();
    for (std::size_t m = 0; m < image.cam_methods.size(); ++m) {
      out += "<tr><th scope=\"row\">" + html_escape(image.cam_methods[m]) + "</th>";
      for (std::size_t c = 0; c < cols && m * cols + c < image.cams.size(); ++c) {
        const ReportCam& cam = image.cams[m * cols + c];
        out += "<td><figure>" + picture_html(cam.overlay, kLeftOut) + "<figcaption>" +
               html_escape(fmt::format("{}, score {:.4g}", cam.class_text, cam.target_score)) +
               (cam.metrics.empty() ? "" : "<br>" + html_escape(cam.metrics)) + "</figcaption></figure></td>";
      }
      out += "</tr>\n";
    }
    out += "</tbody></table>\n";
  }
  if (image.saliency) out += "<h4>Saliency</h4>\n<div class=\"figs saliency\">" + figure_html(*image.saliency) + "</div>\n";
  if (!image.features.empty()) {
    out += fmt::format("<details class=\"features\"{}><summary><h4 style=\"display:inline\">Feature maps: {} layer{}</h4></summary>\n<div class=\"figs\">",
                       n == 1 ? " open" : "", image.features.size(), image.features.size() == 1 ? "" : "s");
    for (const auto& f : image.features) out += figure_html(f);
    out += "</div></details>\n";
  }
  if (!image.notes.empty()) {
    out += "<ul class=\"notes\">";
    for (const auto& note : image.notes) out += "<li>" + html_escape(note) + "</li>";
    out += "</ul>\n";
  }
  return out + "</section>\n";
}

std::string header_list(const ReportHeader& h) {
  std::string out = "<dl class=\"meta\">\n";
  auto meta = [&](const std::string& key, const std::string& value, bool code = false) {
    if (value.empty()) return;
    out += "<dt>" + key + "</dt><dd>" + (code ? "<code>" + html_escape(value) + "</code>" : html_escape(value)) + "</dd>\n";
  };
  meta("Model", h.model_path, true);
  meta("SHA-256", h.model_sha256, true);
  if (h.model_bytes > 0) meta("File size", with_thousands(h.model_bytes) + " bytes");
  meta("Input", h.input, true);
  meta("Device", h.device);
  meta("cnnviz", h.cnnviz_version);
  meta("LibTorch", h.libtorch_version);
  meta("Command", h.command_line, true);
  meta("Created", h.created);
  return out + "</dl>\n";
}

std::string file_name_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// `images`: where pictures may come from (the report: its own data: URIs only; the index: the files
// beside it too).
std::string page_head(const std::string& title, const std::string& version, const std::string& images) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src " + images + "; style-src 'unsafe-inline'; "
         "script-src 'unsafe-inline'\">\n"
         "<meta name=\"generator\" content=\"cnnviz " + html_escape(version) + "\">\n<title>" + html_escape(title) + "</title>\n<style>" +
         kStyle + "</style>\n</head>\n<body>\n";
}

// JSON inside <script>: every '<' (only ever inside strings) as \u003c, so that nothing in it can end
// the element or start a comment; JSON.parse reads the same text back.
std::string script_json(const nlohmann::ordered_json& record) {
  const std::string text = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64_encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  if (bytes.empty()) return out;
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> repeated_blocks(const std::vector<LayerRecord>& records) {
  std::vector<std::pair<std::size_t, std::size_t>> groups;
  std::function<void(std::size_t, std::size_t)> visit = [&](std::size_t first, std::size_t end) {
    for (const std::vector<std::size_t>& run : sibling_runs(records, first, end)) {
      if (run.size() >= 2) groups.emplace_back(run.front(), std::max(records[run.back()].subtree_end, run.back() + 1));
      for (std::size_t g : run) visit(g + 1, records[g].subtree_end);
    }
  };
  visit(0, records.size());
  return groups;
}

std::string render_html_report(const HtmlReport& r) {
  const ReportHeader& h = r.header;
  std::string out;
  out.reserve(1 << 20);
  const std::string file_name = file_name_of(h.model_path);
  out += page_head("cnnviz report: " + file_name, h.cnnviz_version, "data:");
  out += "<header>\n<h1>cnnviz report: <code>" + html_escape(file_name) + "</code></h1>\n" + header_list(h);
  out += "</header>\n<nav aria-label=\"Sections\"><a href=\"#summary\">Summary</a><a href=\"#kernels\">Kernels</a>";
  if (!r.images.empty()) out += "<a href=\"#images\">Images</a>";
  out += "<a href=\"#omitted\">Left out</a></nav>\n<main>\n";

  // Summary: the tree, then torchinfo's totals.
  out += "<section id=\"summary\" aria-labelledby=\"summary-title\">\n<h2 id=\"summary-title\">Summary</h2>\n";
  const std::size_t folded = repeated_blocks(r.records).size();
  out += fmt::format("<p>{} rows; {} repeated block{} folded (click or press Enter on a row to fold or unfold it).</p>\n", r.records.size(),
                     folded, folded == 1 ? "" : "s");
  out += "<div class=\"search\" id=\"search-box\" hidden><label for=\"search\">Find a module by path: </label>"
         "<input type=\"search\" id=\"search\" placeholder=\"e.g. layer3.1.conv2\" autocomplete=\"off\"> <output id=\"search-status\" for=\"search\" "
         "aria-live=\"polite\"></output></div>\n";
  std::string tree = TreeWriter(r).write();
  if (r.has_flops) tree.insert(0, "<div style=\"--flops-col:9em\">\n");
  else tree.insert(0, "<div>\n");
  out += tree + "</div>\n";
  if (!r.totals_text.empty()) out += "<pre class=\"totals\">" + html_escape(r.totals_text) + "</pre>\n";
  out += "</section>\n";

  out += "<section id=\"kernels\" aria-labelledby=\"kernels-title\">\n<h2 id=\"kernels-title\">Kernels</h2>\n";
  if (r.kernels.empty()) {
    out += "<p>No convolution kernels drawn.</p>\n";
  } else {
    out += fmt::format("<details open><summary>{} layer{}</summary>\n<div class=\"figs\">", r.kernels.size(), r.kernels.size() == 1 ? "" : "s");
    for (const auto& f : r.kernels) out += figure_html(f);
    out += "</div></details>\n";
  }
  out += "</section>\n";

  if (!r.images.empty()) {
    out += "<section id=\"images\" aria-labelledby=\"images-title\">\n<h2 id=\"images-title\">Images</h2>\n";
    for (std::size_t i = 0; i < r.images.size(); ++i) out += image_section(r.images[i], i + 1);
    out += "</section>\n";
  }

  out += "<section id=\"omitted\" aria-labelledby=\"omitted-title\">\n<h2 id=\"omitted-title\">Left out</h2>\n";
  if (r.omitted.empty()) {
    out += "<p>Nothing was left out.</p>\n";
  } else {
    out += "<ul>";
    for (const auto& line : r.omitted) out += "<li>" + html_escape(line) + "</li>";
    out += "</ul>\n";
  }
  out += "</section>\n</main>\n";

  nlohmann::ordered_json record = r.record;
  record["omitted"] = r.omitted;
  out += "<script type=\"application/json\" id=\"cnnviz-record\">" + script_json(record) + "</script>\n";
  out += std::string("<script>") + kScript + "</script>\n</body>\n</html>\n";
  return out;
}

std::string render_batch_index(const ReportHeader& h, const std::vector<BatchIndexRow>& rows) {
  int ok = 0, skipped = 0, failed = 0;
  for (const auto& r : rows) (r.status == "ok" ? ok : r.status == "skipped" ? skipped : failed) += 1;
  std::string out = page_head("cnnviz gradcam: " + file_name_of(h.model_path), h.cnnviz_version, "'self' file: data:");
  out += "<header>\n<h1>cnnviz gradcam: <code>" + html_escape(file_name_of(h.model_path)) + "</code></h1>\n" + header_list(h) + "</header>\n<main>\n";
  out += fmt::format("<p>{} overlay{} written by this run, {} skipped (already there), {} failed.</p>\n", ok, ok == 1 ? "" : "s", skipped, failed);
  out += "<table class=\"index\"><thead><tr><th>Overlay</th><th>Image</th><th>Status</th><th>Class</th></tr></thead><tbody>\n";
  for (const auto& r : rows) {
    out += "<tr><td>";
    if (!r.output.empty() && r.status != "error") {
      out += "<a href=\"" + html_escape(r.output) + "\"><img src=\"" + html_escape(r.output) +
             "\" width=\"160\" loading=\"lazy\" decoding=\"async\" alt=\"overlay of " + html_escape(r.image) + "\"></a>";
    }
    out += "</td><td><code>" + html_escape(r.image) + "</code></td><td>" + html_escape(r.status) + "</td><td>" + html_escape(r.detail) +
           "</td></tr>\n";
  }
  return out + "</tbody></table>\n</main>\n</body>\n</html>\n";
}

int64_t fit_html_report(HtmlReport& report, int64_t max_bytes) {
  int64_t size = static_cast<int64_t>(render_html_report(report).size());
  if (size <= max_bytes) return size;
  // Candidates, in the order they go: feature maps (last image, last layer first), kernels (last first),
  // saliency maps, CAM overlays.
  std::vector<std::pair<ReportPicture*, std::string>> order;
  for (std::size_t i = report.images.size(); i-- > 0;) {
    ReportImage& image = report.images[i];
    for (std::size_t f = image.features.size(); f-- > 0;) {
      order.emplace_back(&image.features[f].picture, "feature maps of " + image.features[f].title + " for " + image.path);
    }
  }
  for (std::size_t k = report.kernels.size(); k-- > 0;) order.emplace_back(&report.kernels[k].picture, "kernels of " + report.kernels[k].title);
  for (std::size_t i = report.images.size(); i-- > 0;) {
    if (report.images[i].saliency) order.emplace_back(&report.images[i].saliency->picture, "saliency of " + report.images[i].path);
  }
  for (std::size_t i = report.images.size(); i-- > 0;) {
    ReportImage& image = report.images[i];
    for (std::size_t c = image.cams.size(); c-- > 0;) {
      const std::size_t cols = std::max<std::size_t>(image.cam_columns.size(), 1);
      order.emplace_back(&image.cams[c].overlay, image.cam_methods[std::min(c / cols, image.cam_methods.size() - 1)] + " map of " +
                                                     image.cams[c].class_text + " for " + image.path);
    }
  }
  // Sizes are estimated from the pictures' base64 lengths, then checked by rendering again.
  for (int pass = 0; pass < 4 && size > max_bytes; ++pass) {
    for (auto& [picture, what] : order) {
      if (size <= max_bytes) break;
      if (picture->bytes.empty()) continue;
      const int64_t bytes = static_cast<int64_t>(picture->bytes.size());
      size -= static_cast<int64_t>(base64_encode(picture->bytes).size());
      picture->bytes.clear();
      report.omitted.push_back(fmt::format("{} ({} KB): over the page's size limit", what, (bytes + 1023) / 1024));
      size += static_cast<int64_t>(report.omitted.back().size()) * 2 + 64;  // the line, in the list and in the record
    }
    size = static_cast<int64_t>(render_html_report(report).size());
  }
  if (size > max_bytes) {
    throw Error(ErrorKind::kResource, fmt::format("the report would be {:.1f} MB even with its pictures left out, over its limit of {:.1f} MB; "
                                                  "raise --max-size",
                                                  static_cast<double>(size) / 1e6, static_cast<double>(max_bytes) / 1e6));
  }
  return size;
}

}  // namespace cnnviz
