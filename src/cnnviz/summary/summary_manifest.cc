#include "cnnviz/summary_manifest.h"

#include <nlohmann/json.hpp>

#include "cnnviz/error.h"
#include "cnnviz/json_text.h"

namespace cnnviz {
namespace {

std::optional<int64_t> count_field(const nlohmann::json& line, const char* key, const std::string& where, bool required) {
  const auto it = line.find(key);
  if (it == line.end() || it->is_null()) {
    if (required) throw Error::usage(where + ": no \"" + key + "\"; each line is {\"model\": PATH, \"params\": N, ...}");
    return std::nullopt;
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    throw Error::usage(where + ": \"" + key + "\" is " + it->dump() + ", not a whole number >= 0");
  }
  return it->get<int64_t>();
}

std::string file_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::vector<ManifestEntry> parse_manifest(const std::string& text, const std::string& name) {
  std::vector<ManifestEntry> entries;
  std::size_t start = 0;
  for (int number = 1; start < text.size(); ++number) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "--expect-file '" + name + "' line " + std::to_string(number);
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error::usage(where + " is not valid JSON (" + e.what() + ")");
    }
    if (!doc.is_object()) throw Error::usage(where + " is not a JSON object; each line is {\"model\": PATH, \"params\": N, ...}");
    ManifestEntry entry;
    entry.line = number;
    const auto model = doc.find("model");
    if (model == doc.end() || !model->is_string() || model->get<std::string>().empty()) {
      throw Error::usage(where + ": no \"model\" path; each line is {\"model\": PATH, \"params\": N, ...}");
    }
    entry.model = model->get<std::string>();
    entry.params = *count_field(doc, "params", where, true);
    entry.mult_adds = count_field(doc, "mult_adds", where, false);
    entry.flops = count_field(doc, "flops", where, false);
    for (const ManifestEntry& earlier : entries) {
      if (earlier.model == entry.model) {
        throw Error::usage(where + " names '" + entry.model + "' again (line " + std::to_string(earlier.line) + " did); keep one line per model");
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

const ManifestEntry* find_manifest_entry(const std::vector<ManifestEntry>& manifest, const std::string& model_path) {
  for (const ManifestEntry& e : manifest) {
    if (e.model == model_path) return &e;
  }
  const std::string base = file_name(model_path);
  for (const ManifestEntry& e : manifest) {
    if (e.model.find('/') == std::string::npos && e.model == base) return &e;
  }
  return nullptr;
}

std::string manifest_line(const ManifestEntry& entry) {
  nlohmann::ordered_json line = {{"model", entry.model}, {"params", entry.params}};
  if (entry.mult_adds) line["mult_adds"] = *entry.mult_adds;
  if (entry.flops) line["flops"] = *entry.flops;
  return json_text(line) + "\n";
}

std::vector<std::string> manifest_mismatches(const ManifestEntry& entry, int64_t params, std::optional<int64_t> mult_adds,
                                             std::optional<int64_t> flops) {
  std::vector<std::string> out;
  auto check = [&](const char* what, std::optional<int64_t> expected, std::optional<int64_t> actual) {
    if (!expected || expected == actual) return;
    out.push_back(std::string(what) + ": expected " + std::to_string(*expected) + ", actual " +
                  (actual ? std::to_string(*actual) : std::string("not counted")));
  };
  check("params", entry.params, params);
  check("mult_adds", entry.mult_adds, mult_adds);
  check("flops", entry.flops, flops);
  return out;
}

}  // namespace cnnviz
