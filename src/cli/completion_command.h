#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace cnnviz::cli {

/// Options of `cnnviz completion`: shell completions and the man page, written from the CLI's own
/// definitions (every subcommand, option and help text), so that they cannot drift from the parser.
struct CompletionOptions {
  std::string format;  ///< bash, zsh, fish or man
};

CLI::App* add_completion_command(CLI::App& app, CompletionOptions& options);
/// Prints the script (or the man page) for `root`, the whole command line's definition.
void run_completion_command(const CLI::App& root, const CompletionOptions& options);

}  // namespace cnnviz::cli
