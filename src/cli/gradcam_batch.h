#pragma once

#include <string>
#include <vector>

namespace cnnviz::cli {

/// One image of a batch run and where its overlay goes.
struct BatchItem {
  std::string image;   ///< path to read
  std::string name;    ///< path relative to the directory or list (deterministic, for output names)
  std::string output;  ///< OUTDIR/<name with .png>
};

/// The images of a directory (recursively: .png, .jpg, .jpeg, any case) or of a list file (one path
/// per line, relative paths from the list's folder), sorted by name, with their outputs under
/// `out_dir`. Throws Error(kInput) if the source cannot be read.
std::vector<BatchItem> list_batch_items(const std::string& source, const std::string& out_dir);

/// Parses --shard "I/N" (0 <= I < N) and keeps items whose position modulo N is I. Throws Error(kUsage).
std::vector<BatchItem> take_shard(const std::vector<BatchItem>& items, const std::string& shard);

/// Whether `path` names a batch source (a directory, or a .txt/.lst list) rather than one image.
bool is_batch_source(const std::string& path);

}  // namespace cnnviz::cli
