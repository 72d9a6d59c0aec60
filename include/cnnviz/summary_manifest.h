#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cnnviz {

/// One line of a summary manifest (`cnnviz summary --expect-file`): the figures a model must have.
/// {"model": "resnet18.script.pt", "params": 11689512, "mult_adds": 1814083944, "flops": 1819066368}
struct ManifestEntry {
  std::string model;                 ///< the model's path as given, or a file name without '/'
  int64_t params = 0;
  std::optional<int64_t> mult_adds;  ///< checked when present (needs a forward pass)
  std::optional<int64_t> flops;      ///< checked when present (fvcore's FLOPs; needs a forward pass)
  int line = 0;                      ///< 1-based line in the manifest
};

/// Parses a manifest: one JSON object per line, blank lines skipped, other keys ignored. "model" (a
/// non-empty string) and "params" are required; "params", "mult_adds" and "flops" are integers >= 0
/// (null: absent). Throws Error(kUsage) naming `name`, the line and the problem for a line that is
/// not such an object, and for a second line naming the same model.
std::vector<ManifestEntry> parse_manifest(const std::string& text, const std::string& name);

/// The entry for a model given as `model_path`: the one whose "model" is the path exactly as given,
/// else the one whose "model" has no '/' and is the path's file name; nullptr if none.
const ManifestEntry* find_manifest_entry(const std::vector<ManifestEntry>& manifest, const std::string& model_path);

/// One manifest line, compact JSON with a trailing newline; mult_adds and flops only when present.
std::string manifest_line(const ManifestEntry& entry);

/// How a model's figures differ from its entry, e.g. "params: expected 3882, actual 5618"; empty when
/// they match. A figure the entry gives but `mult_adds` / `flops` lacks (nullopt) counts as different.
std::vector<std::string> manifest_mismatches(const ManifestEntry& entry, int64_t params, std::optional<int64_t> mult_adds,
                                             std::optional<int64_t> flops);

}  // namespace cnnviz
