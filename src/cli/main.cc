// cnnviz: look inside convolutional networks exported to TorchScript.
// The CLI is thin: each subcommand parses its options, calls libcnnviz and writes the result. This file
// owns the one place where errors become messages and exit codes (docs/cli.md).

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <functional>
#include <new>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/runtime.h"
#include "cnnviz/version.h"
#include "common_options.h"
#include "features_command.h"
#include "gradcam_command.h"
#include "kernels_command.h"
#include "layers_command.h"
#include "maximize_command.h"
#include "saliency_command.h"
#include "summary_command.h"

namespace {

struct Command {
  CLI::App* app;
  std::function<void()> run;
};

int real_main(int argc, char** argv) {
  CLI::App app{"cnnviz: look inside CNNs exported to TorchScript (summary tables, kernels, feature maps, CAMs, saliency, activation maximisation)",
               "cnnviz"};
  app.set_version_flag("--version", [] {
    return "cnnviz " + cnnviz::cnnviz_version() + " (LibTorch " + cnnviz::libtorch_version() +
           (cnnviz::libtorch_has_cuda() ? ", CUDA" : ", CPU only") + ", BLAS: " + cnnviz::blas_info().name + ")";
  });
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 internal error, 2 usage, 3 unreadable input, 4 not a loadable model, 5 inputs "
             "do not fit the model, 6 forward failed, 7 memory guard, 8 device unavailable, 9 output not "
             "written, 10 check failed, 11 some batch items failed. See docs/cli.md.");

  cnnviz::cli::SummaryOptions summary;
  cnnviz::cli::LayersOptions layers;
  cnnviz::cli::KernelsOptions kernels;
  cnnviz::cli::FeaturesOptions features;
  cnnviz::cli::GradcamOptions gradcam;
  cnnviz::cli::SaliencyOptions saliency;
  cnnviz::cli::MaximizeOptions maximize;
  const std::vector<Command> commands = {
      {cnnviz::cli::add_summary_command(app, summary), [&] { cnnviz::cli::run_summary_command(summary); }},
      {cnnviz::cli::add_layers_command(app, layers), [&] { cnnviz::cli::run_layers_command(layers); }},
      {cnnviz::cli::add_kernels_command(app, kernels), [&] { cnnviz::cli::run_kernels_command(kernels); }},
      {cnnviz::cli::add_features_command(app, features), [&] { cnnviz::cli::run_features_command(features); }},
      {cnnviz::cli::add_gradcam_command(app, gradcam), [&] { cnnviz::cli::run_gradcam_command(gradcam); }},
      {cnnviz::cli::add_saliency_command(app, saliency), [&] { cnnviz::cli::run_saliency_command(saliency); }},
      {cnnviz::cli::add_maximize_command(app, maximize), [&] { cnnviz::cli::run_maximize_command(maximize); }},
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
