#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cnnviz {

/// What went wrong, in the user's terms. Each kind has one documented exit code (docs/cli.md,
/// error_kinds()); only the CLI's main.cc turns kinds into exit codes.
enum class ErrorKind {
  kInternal,   ///< 1: a bug in cnnviz: please report it
  kUsage,      ///< 2: a bad option or option value (e.g. a malformed --input, a --class out of range)
  kInput,      ///< 3: an input file is missing, a directory or unreadable
  kModel,      ///< 4: the file is not a model cnnviz can load (or needs an operator it cannot find), or
               ///<    the model lacks what is asked of it (a --layer it does not have, a layer that is not
               ///<    a convolution or did not run, a layer the class score does not depend on)
  kData,       ///< 5: data that does not fit what is asked: inputs that do not fit the model (their
               ///<    number, shape or dtype), a model output or layer output of the wrong kind for the
               ///<    method (not [N, K] scores, no spatial dimensions), an image that cannot be decoded
  kExecution,  ///< 6: the model's forward (or backward) pass failed
  kResource,   ///< 7: refused by a resource guard (memory, image size), or out of memory
  kDevice,     ///< 8: the requested device is not available
  kOutput,     ///< 9: an output could not be written
  kCheck,      ///< 10: a CI check (--expect-params, --expect-mult-adds) failed
  kPartial,    ///< 11: a batch finished, but some of its items failed (each reported)
};

/// One row of the error table: a kind, its exit code and the few words --help shows for it.
struct ErrorKindInfo {
  ErrorKind kind;
  int exit_code;
  const char* summary;
};

/// Every kind in exit-code order: the one source of exit_code() and of the exit-code footer of --help.
const std::vector<ErrorKindInfo>& error_kinds();

/// The process exit code for a kind (see the table in docs/cli.md).
int exit_code(ErrorKind kind);

/// "Exit codes: 0 ok, 1 internal error, ..., 11 some batch items failed.": the --help footer's line.
std::string exit_code_summary();

/// `text` made safe to print as (part of) one line on a terminal: line breaks, tabs, other C0 control
/// characters and DEL become escapes (`\n`, `\r`, `\t`, `\x1b`), so a file name or option value
/// typed by the user can neither split a message nor send terminal escape sequences. Other bytes,
/// UTF-8 included, are kept.
std::string one_line(std::string_view text);

/// The only exception type libcnnviz throws. Its message is one lowercase line that names the
/// offending input and, where there is one, a fix; the constructor passes it through one_line().
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);

  ErrorKind kind() const { return kind_; }

  static Error file_not_found(const std::string& path);
  static Error is_directory(const std::string& path);
  static Error unreadable(const std::string& path, const std::string& reason);
  static Error not_torchscript(const std::string& path, const std::string& detail);
  static Error usage(const std::string& message);

 private:
  ErrorKind kind_;
};

}  // namespace cnnviz
