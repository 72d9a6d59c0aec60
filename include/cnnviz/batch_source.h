#pragma once

// The images of a batch run (gradcam IMAGE a directory or a list) and the record that lets it resume.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cnnviz {

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

/// With --top-k (`top_k` > 0), output `dir/name.ext` becomes `dir/name.top<rank>.ext`, rank from 1;
/// without it, `path` unchanged.
std::string ranked_path(const std::string& path, int rank, int top_k);

/// The settings record `out_dir`/.cnnviz-gradcam.json keeps what decides a batch's overlays besides
/// the images (`settings`: the model's hash, layer, method, preprocessing...), so that resuming with
/// other settings does not skip overlays made with the old ones. Throws Error(kUsage), naming the
/// keys that differ, when the record holds other settings and `overwrite` is false; otherwise writes
/// `settings` as the record (atomically) if it is not there already or `overwrite` is true.
void check_batch_settings(const std::string& out_dir, const nlohmann::ordered_json& settings, bool overwrite);

}  // namespace cnnviz
