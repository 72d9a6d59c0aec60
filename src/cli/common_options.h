#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cnnviz/input_spec.h"
#include "cnnviz/model.h"

namespace cnnviz::cli {

/// Options every model-running subcommand takes.
struct CommonOptions {
  std::string device = "cpu";
  int threads = 0;          ///< 0: every usable core
  std::string max_memory;   ///< empty: default_memory_limit()
  std::vector<std::string> load_libraries;  ///< --load-library, loaded in order before the model
};

void add_common_options(CLI::App& app, CommonOptions& options);

/// "a, b, c or d": an option's values for its help text, from the library's name table, so that help
/// and parser cannot drift apart.
std::string value_list(const std::vector<std::string>& names);

/// Loads --load-library files, applies --threads and returns the parsed --device.
DeviceKind apply_common_options(const CommonOptions& options);

/// The --max-memory limit in bytes.
int64_t memory_limit(const CommonOptions& options);

/// Parses repeated --input shapes and --dtype names (none: float32; one: for every input; or one per
/// input). Throws Error(kUsage).
std::vector<InputSpec> parse_input_specs(const std::vector<std::string>& inputs, const std::vector<std::string>& dtypes);

/// Writes `bytes` to `path` atomically ("-": stdout) and, for a file, prints its path on stdout.
void write_output(const std::string& path, const std::string& bytes);

/// Writes rendered files in order, each atomically; prints each path (write_output) unless `quiet`
/// (a JSON report lists them instead). Returns the paths.
std::vector<std::string> write_outputs(const std::vector<std::pair<std::string, std::string>>& files, bool quiet);

/// Writes `text` to stdout in one call and flushes; Error(kOutput) if that fails (e.g. a closed pipe).
void write_stdout(const std::string& text);

/// Prints a diagnostic line to stderr: "cnnviz: note: ...".
void print_note(const std::string& message);

}  // namespace cnnviz::cli
