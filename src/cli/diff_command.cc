#include "diff_command.h"

#include "cnnviz/error.h"
#include "cnnviz/json_text.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_diff.h"
#include "summary_command.h"

namespace cnnviz::cli {

CLI::App* add_diff_command(CLI::App& app, DiffOptions& o) {
  CLI::App* cmd = app.add_subcommand("diff", "Compare two models' summaries: modules added, removed, renamed or changed, and totals");
  cmd->add_option("old", o.old_model, "The model to compare against (.pt or .pt2)")->required();
  cmd->add_option("new", o.new_model, "The model to compare (.pt or .pt2)")->required();
  cmd->add_option("--input", o.inputs, "Input shape with batch (e.g. 1,3,224,224) for both models, to compare output shapes and "
                                       "mult-adds; once per forward argument")
      ->allow_extra_args(false);  // one value each time: the models may follow
  cmd->add_option("--dtype", o.dtypes, "Input dtype: " + value_list(dtype_names()) + " (default float32); once, or per input")
      ->allow_extra_args(false);
  cmd->add_option("--depth", o.depth, "Deepest module level compared")->capture_default_str()->check(CLI::Range(0, 1000));
  cmd->add_option("--format", o.format, "Output format: text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_flag("--load", o.load, "Load both models with LibTorch even where the files alone answer (as summary --load)");
  cmd->add_option("--tolerate", o.tolerate,
                  "Comma list of differences that still exit 0: renames, params:R, mult-adds:R (R relative, e.g. 0.01 or 1%)")
      ->delimiter(',')
      ->allow_extra_args(false);
  add_common_options(*cmd, o.common);
  cmd->footer("Exit 0 when the models are equal (or differ only as --tolerate allows), 10 when they differ. "
              "A .pt file is code: cnnviz runs it. Only open models you would run.");
  return cmd;
}

void run_diff_command(const DiffOptions& o) {
  // Validate every option before loading anything.
  const DiffTolerance tolerance = parse_diff_tolerance(o.tolerate);
  SummaryRequest request;
  request.inputs = parse_input_specs(o.inputs, o.dtypes);
  request.max_memory_bytes = memory_limit(o.common);
  request.device = apply_common_options(o.common);

  request.model_path = o.old_model;
  const Summary old_summary = summarize(request, o.load);
  request.model_path = o.new_model;
  const Summary new_summary = summarize(request, o.load);
  for (const auto& note : old_summary.context.notes) print_note("'" + o.old_model + "': " + note);
  for (const auto& note : new_summary.context.notes) print_note("'" + o.new_model + "': " + note);

  const SummaryDiff diff = diff_summaries(old_summary.records, old_summary.stats, new_summary.records, new_summary.stats, o.depth);
  if (o.format == "json") {
    write_stdout(json_text(diff_to_json(diff, o.old_model, o.new_model, tolerance), 2) + "\n");
  } else {
    write_stdout(render_diff_text(diff, o.old_model, o.new_model, tolerance));
  }
  if (!diff_tolerated(diff, tolerance)) {
    int count = 0;
    for (const ModuleDiff& m : diff.modules) count += module_diff_tolerated(m, tolerance) ? 0 : 1;
    const std::string what = count > 0 ? std::to_string(count) + (count == 1 ? " module row differs" : " module rows differ")
                                       : std::string("the totals differ");
    throw Error(ErrorKind::kCheck, "'" + o.new_model + "' differs from '" + o.old_model + "': " + what +
                                       (o.tolerate.empty() ? "" : " beyond --tolerate") + " (listed above)");
  }
}

}  // namespace cnnviz::cli
