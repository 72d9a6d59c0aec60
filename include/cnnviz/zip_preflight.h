#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cnnviz/input_file.h"
#include "cnnviz/zip_archive.h"

namespace cnnviz {

/// What the zip central directory of a TorchScript archive says, read without LibTorch.
struct ArchiveInfo {
  std::string prefix;                ///< the archive's top folder ("resnet18" in "resnet18/data.pkl")
  std::vector<std::string> entries;  ///< every entry name, in central-directory order
  int64_t format_version = -1;       ///< value of `<prefix>/version` (or `.data/version`), -1 if absent
  bool has_code = false;             ///< has `<prefix>/code/` entries: TorchScript, not a plain pickle
  bool has_constants = false;        ///< has `<prefix>/constants.pkl`
  /// The TorchScript source files LibTorch may import: every `<prefix>/code/...py` entry (matched
  /// without regard to case, as LibTorch's zip reader looks names up), as {entry name, text}.
  std::vector<std::pair<std::string, std::string>> code_files;
};

/// Limits the pre-flight check enforces before LibTorch parses anything.
struct ArchiveLimits {
  std::size_t max_entries = 200000;
  int64_t max_supported_version = 10;  ///< LibTorch 1.13 reads file-format versions 1..0xA
};

/// Reads and checks a model file's zip structure: every central-directory entry must lie inside the
/// file, names may not contain "..", and it must look like TorchScript (data.pkl + code/) with a
/// version record. Every pickle (data.pkl, constants.pkl, the code's .debug_pkl files) must be one
/// LibTorch 1.13's unpickler can read without misbehaving (src/cnnviz/zip_preflight.cc). Throws
/// Error(kModel) with a one-line reason ("not a zip archive: it is a PNG image", "truncated or
/// corrupted zip archive", "written by a newer PyTorch ...") otherwise; `libtorch_version` is named in
/// the version message.
ArchiveInfo preflight_archive(const std::string& path, const std::string& libtorch_version,
                              const ArchiveLimits& limits = {});

/// The same check on a file already open (load_model checks and loads the same open file).
ArchiveInfo preflight_archive(const InputFile& file, const std::string& libtorch_version, const ArchiveLimits& limits = {});

/// The same check on an archive whose central directory is already read.
ArchiveInfo preflight_archive(ZipArchive& zip, const std::string& libtorch_version, const ArchiveLimits& limits = {});

/// What a model file is called in messages about one ("give the path of ...").
inline constexpr const char* kModelFile = "a TorchScript model (.pt file)";

}  // namespace cnnviz
