#include "summary_command.h"

#include <algorithm>

#include "cnnviz/archive_summary.h"
#include "cnnviz/error.h"
#include "cnnviz/input_file.h"
#include "cnnviz/json_text.h"
#include "cnnviz/output_file.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_csv.h"
#include "cnnviz/summary_manifest.h"
#include "cnnviz/summary_text.h"
#include "cnnviz/summary_json.h"
#include "cnnviz/input_spec.h"

namespace cnnviz::cli {
namespace {

TextOptions text_options(const SummaryOptions& o, bool has_input) {
  TextOptions t;
  t.depth = o.depth;
  if (!o.columns.empty()) {
    t.columns.clear();
    for (const auto& name : o.columns) t.columns.push_back(parse_column(name));
  } else if (!has_input) {
    t.columns = {Column::kNumParams};  // shapes need a forward pass, as in torchinfo
  }
  if (o.flops && std::find(t.columns.begin(), t.columns.end(), Column::kFlops) == t.columns.end()) t.columns.push_back(Column::kFlops);
  t.show_depth = false;
  for (const auto& s : o.row_settings) {
    if (s == "depth") t.show_depth = true;
    else if (s == "var_names") t.show_var_names = true;
    else if (s == "ascii_only") t.ascii_only = true;
    else if (s == "hide_recursive_layers") t.hide_recursive = true;
    else throw Error::usage("--row-settings: unknown setting '" + s + "'; valid settings are depth, var_names, ascii_only, hide_recursive_layers");
  }
  if (!has_input) {
    for (Column c : t.columns) {
      if (c == Column::kInputSize || c == Column::kOutputSize || c == Column::kMultAdds || c == Column::kFlops) {
        throw Error::usage("--columns " + column_names()[static_cast<std::size_t>(c)] +
                           " needs a forward pass; add --input, e.g. --input 1,3,224,224");
      }
    }
  }
  return t;
}

void check_expectation(const char* option, std::optional<int64_t> expected, int64_t actual, const char* what) {
  if (!expected || *expected == actual) return;
  throw Error(ErrorKind::kCheck, std::string(option) + ": expected " + std::to_string(*expected) + " " + what +
                                     ", actual " + std::to_string(actual));
}

// A manifest is a few lines per model; anything near this is not one.
constexpr int64_t kMaxManifestBytes = int64_t{64} << 20;

// The manifest entry of every model, in order (nullptr without --expect-file). Throws Error(kUsage) for
// a model the manifest has no line for: checked before any model is loaded.
std::vector<const ManifestEntry*> expected_entries(const SummaryOptions& o, std::vector<ManifestEntry>& manifest) {
  std::vector<const ManifestEntry*> entries(o.models.size(), nullptr);
  if (o.expect_file.empty()) return entries;
  manifest = parse_manifest(read_input_file(o.expect_file, kMaxManifestBytes, "a summary manifest (JSON lines)"), o.expect_file);
  for (std::size_t i = 0; i < o.models.size(); ++i) {
    entries[i] = find_manifest_entry(manifest, o.models[i]);
    if (!entries[i]) {
      throw Error::usage("--expect-file '" + o.expect_file + "' has no line for '" + o.models[i] +
                         "'; add {\"model\": \"" + o.models[i] + "\", \"params\": N} (--write-expect-file writes one)");
    }
  }
  return entries;
}

}  // namespace

CLI::App* add_summary_command(CLI::App& app, SummaryOptions& o) {
  CLI::App* cmd = app.add_subcommand("summary", "Print torchinfo's summary table of a TorchScript model (or of several, in turn)");
  cmd->add_option("model", o.models, "TorchScript file (.pt) from torch.jit.script or torch.jit.trace; several are summarised in turn")
      ->required();
  // One value per occurrence (allow_extra_args(false)), so that models may follow an option: summary a.pt --input 1,3,8,8 b.pt.
  cmd->add_option("--input", o.inputs, "Input shape with batch, e.g. 1,3,224,224; once per forward argument")->allow_extra_args(false);
  cmd->add_option("--dtype", o.dtypes, "Input dtype: " + value_list(dtype_names()) + " (default float32); once, or per input")
      ->allow_extra_args(false);
  cmd->add_option("--depth", o.depth, "Deepest module level shown")->capture_default_str()->check(CLI::Range(0, 1000));
  cmd->add_option("--columns", o.columns,
                  "Comma list of input_size, output_size, num_params, params_percent, kernel_size, mult_adds, "
                  "trainable, flops (default output_size,num_params)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--row-settings", o.row_settings, "Comma list of depth, var_names, ascii_only, hide_recursive_layers")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->capture_default_str();
  cmd->add_option("--format", o.format, "Output format: text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}))
      ->capture_default_str();
  cmd->add_option("--expect-params", o.expect_params, "Exit 10 unless the model has exactly N params (CI gate)");
  cmd->add_option("--expect-mult-adds", o.expect_mult_adds, "Exit 10 unless total mult-adds are exactly N (CI gate)");
  cmd->add_flag("--flops", o.flops,
                "Also count FLOPs as fvcore does (every ATen operator, attention's matrix products included): a FLOPs column, "
                "totals and the operators without a formula; not torchinfo's (docs/cli.md, FLOPs)");
  cmd->add_flag("--load", o.load,
                "Load the model with LibTorch even where the file alone answers (a summary without --input, a .pt2 at "
                "its exported shape): the same output, slower; to check the fast path");
  cmd->add_option("--expect-flops", o.expect_flops, "Exit 10 unless total FLOPs (fvcore) are exactly N (CI gate; implies --flops)");
  cmd->add_option("--expect-file", o.expect_file,
                  "Exit 10 unless every model has the params (and mult_adds, flops) its line in this manifest gives: "
                  "one JSON line per model, {\"model\": PATH, \"params\": N} (CI gate)")
      ->type_name("FILE");
  cmd->add_option("--write-expect-file", o.write_expect_file,
                  "Write this run's figures as such a manifest (atomically), one line per model")
      ->type_name("FILE");
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

Summary summarize(const SummaryRequest& request, bool load) {
  if (!load) {
    if (std::optional<Summary> s = summarize_from_archive(request)) return std::move(*s);
  }
  return summarize_model(request);
}

void run_summary_command(const SummaryOptions& o) {
  // Validate every option, and the manifest, before loading anything.
  const bool several = o.models.size() > 1;
  if (several && (o.expect_params || o.expect_mult_adds || o.expect_flops)) {
    throw Error::usage("--expect-params, --expect-mult-adds and --expect-flops check one model; for several, use --expect-file");
  }
  if (several && o.format == "csv") {
    throw Error::usage("--format csv takes one model; give one model per run, or use --format json (one line per model)");
  }
  std::vector<ManifestEntry> manifest;
  const std::vector<const ManifestEntry*> expected = expected_entries(o, manifest);
  SummaryRequest request;
  request.inputs = parse_input_specs(o.inputs, o.dtypes);
  request.max_memory_bytes = memory_limit(o.common);
  request.device = apply_common_options(o.common);
  request.compute_sha256 = o.format == "json";
  const TextOptions asked = text_options(o, true);  // the column and row-setting names, before loading anything
  request.count_flops = o.flops || o.expect_flops ||
                        std::find(asked.columns.begin(), asked.columns.end(), Column::kFlops) != asked.columns.end();
  for (const ManifestEntry* e : expected) request.count_flops = request.count_flops || (e && e->flops);

  // Every model is summarised before anything is printed: the first that fails stops the run, and
  // stdout gets nothing.
  std::string out;
  std::vector<ManifestEntry> actual;
  for (std::size_t i = 0; i < o.models.size(); ++i) {
    request.model_path = o.models[i];
    const Summary s = summarize(request, o.load);
    const std::string model = several ? "'" + o.models[i] + "': " : "";
    if (request.count_flops && s.stats.total_flops < 0) {
      throw Error::usage(model + "--flops needs a forward pass; add --input, e.g. --input 1,3,224,224");
    }
    // A .pt2 program without --input runs at the shapes it was exported with; shapes and mult-adds need a
    // forward pass, so only a summary without one refuses those columns.
    const bool has_input = !s.context.inputs.empty();
    const TextOptions text = text_options(o, has_input);
    if ((o.expect_mult_adds || (expected[i] && expected[i]->mult_adds)) && !has_input) {
      throw Error::usage(model + (o.expect_mult_adds ? "--expect-mult-adds" : "--expect-file's mult_adds") +
                         " needs a forward pass; add --input, e.g. --input 1,3,224,224");
    }
    for (const auto& note : s.context.notes) print_note(model + note);
    if (o.format == "json") {
      out += json_text(summary_to_json(s.records, s.stats, s.context), several ? -1 : 2) + "\n";
    } else if (o.format == "csv") {
      out += summary_to_csv(s.records);
    } else {
      if (several) out += (i > 0 ? "\n" : "") + ("Model: " + o.models[i] + "\n");
      out += render_summary_text(s.records, s.stats, text) + "\n";
    }
    ManifestEntry figures;
    figures.model = o.models[i];
    figures.params = s.stats.total_params;
    if (has_input) figures.mult_adds = s.stats.total_mult_adds;
    if (s.stats.total_flops >= 0) figures.flops = s.stats.total_flops;
    actual.push_back(std::move(figures));
  }
  write_stdout(out);
  if (!o.write_expect_file.empty()) {
    std::string lines;
    for (const ManifestEntry& figures : actual) lines += manifest_line(figures);
    write_file_atomically(o.write_expect_file, lines);
  }
  if (!several) {
    check_expectation("--expect-params", o.expect_params, actual[0].params, "params");
    check_expectation("--expect-mult-adds", o.expect_mult_adds, actual[0].mult_adds.value_or(0), "mult-adds");
    check_expectation("--expect-flops", o.expect_flops, actual[0].flops.value_or(-1), "FLOPs");
  }
  std::string changed;
  int changed_count = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!expected[i]) continue;
    const std::vector<std::string> mismatches = manifest_mismatches(*expected[i], actual[i].params, actual[i].mult_adds, actual[i].flops);
    if (mismatches.empty()) continue;
    std::string list;
    for (const auto& m : mismatches) list += (list.empty() ? "" : "; ") + m;
    changed += std::string(changed.empty() ? "" : ", ") + "'" + o.models[i] + "' (" + list + ")";
    ++changed_count;
  }
  if (changed_count > 0) {
    throw Error(ErrorKind::kCheck, "--expect-file '" + o.expect_file + "': " + std::to_string(changed_count) + " of " +
                                       std::to_string(actual.size()) + (actual.size() == 1 ? " model differs: " : " models differ: ") +
                                       changed);
  }
}

}  // namespace cnnviz::cli
