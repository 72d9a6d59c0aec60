// cnnviz: look inside convolutional networks exported to TorchScript.
// The CLI is thin: each subcommand parses its options, calls libcnnviz and writes the result. This file
// owns the one place where errors become messages and exit codes (docs/cli.md).

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <functional>
#include <new>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/runtime.h"
#include "cnnviz/version.h"
#include "common_options.h"
#include "completion_command.h"
#include "diff_command.h"
#include "features_command.h"
#include "gradcam_command.h"
#include "kernels_command.h"
#include "layers_command.h"
#include "maximize_command.h"
#include "report_command.h"
#include "saliency_command.h"
#include "summary_command.h"

namespace {

struct Command {
  CLI::App* app;
  std::function<void()> run;
};

// When the first word that is not an option names no subcommand: "'sumary' is not a cnnviz command; did
// you mean 'summary'? ..." (the nearest name by edit distance, if it is near), else empty.
std::string unknown_command_message(const std::vector<Command>& commands, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    std::string nearest;
    std::size_t best = 3;  // at most two edits
    for (const auto& c : commands) {
      if (c.app->get_name() == word) return "";
      const std::size_t d = cnnviz::edit_distance(word, c.app->get_name());
      if (d < best) best = d, nearest = c.app->get_name();
    }
    std::string names;
    for (const auto& c : commands) names += (names.empty() ? "" : ", ") + c.app->get_name();
    return fmt::format("'{}' is not a cnnviz command; {}use one of {}", cnnviz::one_line(word),
                       nearest.empty() ? "" : "did you mean '" + nearest + "'? ", names);
  }
  return "";
}

int real_main(int argc, char** argv) {
  CLI::App app{"cnnviz: look inside CNNs exported to TorchScript (summary tables and diffs, kernels, feature maps, CAMs, saliency, activation maximisation, HTML reports)",
               "cnnviz"};
  app.set_version_flag("--version", [] {
    return "cnnviz " + cnnviz::cnnviz_version() + " (LibTorch " + cnnviz::libtorch_version() +
           (cnnviz::libtorch_has_cuda() ? ", CUDA" : ", CPU only") + ", BLAS: " + cnnviz::blas_info().name + ")";
  });
  app.require_subcommand(1);
  app.footer(cnnviz::exit_code_summary() + " See docs/cli.md.");

  cnnviz::cli::SummaryOptions summary;
  cnnviz::cli::LayersOptions layers;
  cnnviz::cli::KernelsOptions kernels;
  cnnviz::cli::FeaturesOptions features;
  cnnviz::cli::GradcamOptions gradcam;
  cnnviz::cli::SaliencyOptions saliency;
  cnnviz::cli::MaximizeOptions maximize;
  cnnviz::cli::ReportOptions report;
  cnnviz::cli::DiffOptions diff;
  cnnviz::cli::CompletionOptions completion;
  report.argv.assign(argv, argv + argc);
  gradcam.argv = report.argv;
  const std::vector<Command> commands = {
      {cnnviz::cli::add_summary_command(app, summary), [&] { cnnviz::cli::run_summary_command(summary); }},
      {cnnviz::cli::add_layers_command(app, layers), [&] { cnnviz::cli::run_layers_command(layers); }},
      {cnnviz::cli::add_kernels_command(app, kernels), [&] { cnnviz::cli::run_kernels_command(kernels); }},
      {cnnviz::cli::add_features_command(app, features), [&] { cnnviz::cli::run_features_command(features); }},
      {cnnviz::cli::add_gradcam_command(app, gradcam), [&] { cnnviz::cli::run_gradcam_command(gradcam); }},
      {cnnviz::cli::add_saliency_command(app, saliency), [&] { cnnviz::cli::run_saliency_command(saliency); }},
      {cnnviz::cli::add_maximize_command(app, maximize), [&] { cnnviz::cli::run_maximize_command(maximize); }},
      {cnnviz::cli::add_report_command(app, report), [&] { cnnviz::cli::run_report_command(report); }},
      {cnnviz::cli::add_diff_command(app, diff), [&] { cnnviz::cli::run_diff_command(diff); }},
      {cnnviz::cli::add_completion_command(app, completion), [&] { cnnviz::cli::run_completion_command(app, completion); }},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = "cnnviz";
    for (const auto& c : commands) {
      if (c.app->parsed()) where += " " + c.app->get_name();
    }
    if (where == "cnnviz") {
      if (const std::string message = unknown_command_message(commands, argc, argv); !message.empty()) {
        fmt::print(stderr, "cnnviz: error: {}\n", message);
        return cnnviz::exit_code(cnnviz::ErrorKind::kUsage);
      }
    }
    fmt::print(stderr, "cnnviz: error: {}; see '{} --help'\n", cnnviz::one_line(e.what()), where);
    return cnnviz::exit_code(cnnviz::ErrorKind::kUsage);
  }

  // Debian's LibTorch calls the system's libblas.so.3: say so when that is the reference one.
  if (const std::string note = cnnviz::blas_note(cnnviz::blas_info()); !note.empty()) cnnviz::cli::print_note(note);
  for (const auto& c : commands) {
    if (c.app->parsed()) c.run();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return real_main(argc, argv);
  } catch (const cnnviz::Error& e) {
    fmt::print(stderr, "cnnviz: error: {}\n", e.what());
    return cnnviz::exit_code(e.kind());
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "cnnviz: error: out of memory; use a smaller --input or a machine with more memory\n");
    return cnnviz::exit_code(cnnviz::ErrorKind::kResource);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    fmt::print(stderr, "cnnviz: internal error: {}; please report it with the command line\n", cnnviz::one_line(what));
    return cnnviz::exit_code(cnnviz::ErrorKind::kInternal);
  } catch (...) {
    fmt::print(stderr, "cnnviz: internal error: unknown exception; please report it with the command line\n");
    return cnnviz::exit_code(cnnviz::ErrorKind::kInternal);
  }
}
