#pragma once

// Shared helpers for cnnviz's tests: where the exported models and golden files are, and how to run
// the cnnviz binary.

#include <string>
#include <vector>

namespace cnnviz::test {

/// Directory the exporter wrote the test models to: $CNNVIZ_MODEL_DIR, else
/// ${XDG_CACHE_HOME:-$HOME/.cache}/cnnviz/models (same rule as models/export_models.py).
std::string model_dir();

/// Path of an exported model file; fails the test with a hint if it is missing.
std::string model_path(const std::string& file_name);

/// tests/golden/<relative>.
std::string golden_path(const std::string& relative);

/// Whole file as a string; fails the test if it cannot be read.
std::string read_file(const std::string& path);

/// A fresh directory under the build tree's tmp, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// What a run of the cnnviz binary produced.
struct RunResult {
  int exit_code = -1;  ///< -signal if it died of a signal
  bool timed_out = false;  ///< killed at the deadline
  std::string out;
  std::string err;
};

/// Runs the built cnnviz binary with `args` (no shell), stdin from /dev/null; kills it (timed_out,
/// exit_code -SIGKILL) after `timeout_seconds`.
RunResult run_cnnviz(const std::vector<std::string>& args, int timeout_seconds = 600);

/// The same for any `program`, with `environment` settings ("NAME=value") added to this process's.
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::vector<std::string>& environment = {}, int timeout_seconds = 600);

/// Number of '\n'-terminated lines in `text`.
int count_lines(const std::string& text);

}  // namespace cnnviz::test
