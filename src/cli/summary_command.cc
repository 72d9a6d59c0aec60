#include "summary_command.h"

#include <algorithm>

#include "cnnviz/error.h"
#include "cnnviz/json_text.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_csv.h"
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

}  // namespace

CLI::App* add_summary_command(CLI::App& app, SummaryOptions& o) {
  CLI::App* cmd = app.add_subcommand("summary", "Print torchinfo's summary table of a TorchScript model");
  cmd->add_option("model", o.model, "TorchScript file (.pt) from torch.jit.script or torch.jit.trace")->required();
  cmd->add_option("--input", o.inputs, "Input shape with batch, e.g. 1,3,224,224; once per forward argument");
  cmd->add_option("--dtype", o.dtypes, "Input dtype: " + value_list(dtype_names()) + " (default float32); once, or per input");
  cmd->add_option("--depth", o.depth, "Deepest module level shown")->capture_default_str()->check(CLI::Range(0, 1000));
  cmd->add_option("--columns", o.columns,
                  "Comma list of input_size, output_size, num_params, params_percent, kernel_size, mult_adds, "
                  "trainable, flops (default output_size,num_params)")
      ->delimiter(',');
  cmd->add_option("--row-settings", o.row_settings, "Comma list of depth, var_names, ascii_only, hide_recursive_layers")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--format", o.format, "Output format: text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}))
      ->capture_default_str();
  cmd->add_option("--expect-params", o.expect_params, "Exit 10 unless the model has exactly N params (CI gate)");
  cmd->add_option("--expect-mult-adds", o.expect_mult_adds, "Exit 10 unless total mult-adds are exactly N (CI gate)");
  cmd->add_flag("--flops", o.flops,
                "Also count FLOPs as fvcore does (every ATen operator, attention's matrix products included): a FLOPs column, "
                "totals and the operators without a formula; not torchinfo's (docs/cli.md, FLOPs)");
  cmd->add_option("--expect-flops", o.expect_flops, "Exit 10 unless total FLOPs (fvcore) are exactly N (CI gate; implies --flops)");
  add_common_options(*cmd, o.common);
  cmd->footer("A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

void run_summary_command(const SummaryOptions& o) {
  // Validate every option before loading anything.
  SummaryRequest request;
  request.model_path = o.model;
  request.inputs = parse_input_specs(o.inputs, o.dtypes);
  request.max_memory_bytes = memory_limit(o.common);
  request.device = apply_common_options(o.common);
  request.compute_sha256 = o.format == "json";
  const TextOptions asked = text_options(o, true);  // the column and row-setting names, before loading anything
  request.count_flops = o.flops || o.expect_flops ||
                        std::find(asked.columns.begin(), asked.columns.end(), Column::kFlops) != asked.columns.end();

  const Summary s = summarize_model(request);
  if (request.count_flops && s.stats.total_flops < 0) {
    throw Error::usage("--flops needs a forward pass; add --input, e.g. --input 1,3,224,224");
  }
  // A .pt2 program without --input runs at the shapes it was exported with; shapes and mult-adds need a
  // forward pass, so only a summary without one refuses those columns.
  const bool has_input = !s.context.inputs.empty();
  const TextOptions text = text_options(o, has_input);
  if (o.expect_mult_adds && !has_input) {
    throw Error::usage("--expect-mult-adds needs a forward pass; add --input, e.g. --input 1,3,224,224");
  }
  for (const auto& note : s.context.notes) print_note(note);
  if (o.format == "json") {
    write_stdout(json_text(summary_to_json(s.records, s.stats, s.context), 2) + "\n");
  } else if (o.format == "csv") {
    write_stdout(summary_to_csv(s.records));
  } else {
    write_stdout(render_summary_text(s.records, s.stats, text) + "\n");
  }
  check_expectation("--expect-params", o.expect_params, s.stats.total_params, "params");
  check_expectation("--expect-mult-adds", o.expect_mult_adds, s.stats.total_mult_adds, "mult-adds");
  check_expectation("--expect-flops", o.expect_flops, s.stats.total_flops, "FLOPs");
}

}  // namespace cnnviz::cli
