#include "common_options.h"

#include <cstdio>

#include <fmt/core.h>

#include "cnnviz/error.h"
#include "cnnviz/memory_guard.h"
#include "cnnviz/op_library.h"
#include "cnnviz/output_file.h"
#include "cnnviz/runtime.h"
#include "torch_part.h"

namespace cnnviz::cli {

std::string value_list(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

void add_common_options(CLI::App& app, CommonOptions& options) {
  app.add_option("--device", options.device, "Where to run the model: cpu, cuda, or auto (cuda when available)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "CPU threads for LibTorch (default: every usable core)");
  app.add_option("--max-memory", options.max_memory,
                 "Refuse inputs whose estimated memory exceeds this, e.g. 8G (default: 80% of available RAM)");
  app.add_option("--load-library", options.load_libraries,
                 "Load a shared library of operators before the model, e.g. torchvision's _C library (repeatable; "
                 "it runs code like the model does). torchvision's is found by itself when a model needs it")
      ->type_name("PATH");
}

DeviceKind apply_common_options(const CommonOptions& options) {
  if (options.threads < 0) {
    throw Error::usage("--threads " + std::to_string(options.threads) + ": give a number of threads, or 0 for every usable core");
  }
  // Operator libraries link LibTorch: load cnnviz's LibTorch part (and so LibTorch) before them. The
  // thread count waits for the part, so that a summary read from the file never loads it.
  if (!options.load_libraries.empty()) load_torch_part();
  for (const auto& library : options.load_libraries) load_operator_library(library);
  const int threads = options.threads > 0 ? options.threads : usable_cores();
  when_torch_part_loaded([threads] { set_threads(threads); });
  if (options.device == "cuda") return DeviceKind::kCuda;
  if (options.device == "auto") return DeviceKind::kAuto;
  return DeviceKind::kCpu;
}

int64_t memory_limit(const CommonOptions& options) {
  return options.max_memory.empty() ? default_memory_limit() : parse_memory_size(options.max_memory);
}

std::vector<InputSpec> parse_input_specs(const std::vector<std::string>& inputs, const std::vector<std::string>& dtypes) {
  if (!dtypes.empty() && dtypes.size() != 1 && dtypes.size() != inputs.size()) {
    throw Error::usage("--dtype was given " + std::to_string(dtypes.size()) + " times for " +
                       std::to_string(inputs.size()) + " --input; give one --dtype for all inputs or one per input");
  }
  std::vector<InputSpec> specs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    InputSpec spec;
    spec.shape = parse_input_shape(inputs[i]);
    if (!dtypes.empty()) spec.dtype = parse_dtype(dtypes[dtypes.size() == 1 ? 0 : i]);
    specs.push_back(std::move(spec));
  }
  return specs;
}

void write_output(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, bytes);
  if (path != "-") write_stdout(path + "\n");
}

std::vector<std::string> write_outputs(const std::vector<std::pair<std::string, std::string>>& files, bool quiet) {
  std::vector<std::string> written;
  for (const auto& [path, bytes] : files) {
    quiet ? write_file_atomically(path, bytes) : write_output(path, bytes);
    written.push_back(path);
  }
  return written;
}

void write_stdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    throw Error(ErrorKind::kOutput, "cannot write to standard output (closed pipe or full disk?)");
  }
}

void print_note(const std::string& message) { fmt::print(stderr, "cnnviz: note: {}\n", one_line(message)); }

}  // namespace cnnviz::cli
