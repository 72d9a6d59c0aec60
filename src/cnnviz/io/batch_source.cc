#include "cnnviz/batch_source.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <sstream>

#include "cnnviz/error.h"
#include "cnnviz/input_file.h"
#include "cnnviz/json_text.h"
#include "cnnviz/output_file.h"

namespace cnnviz {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_image_name(const fs::path& p) {
  const std::string ext = lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

bool is_batch_source(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return true;
  const std::string ext = lower(fs::path(path).extension().string());
  return ext == ".txt" || ext == ".lst";
}

std::vector<BatchItem> list_batch_items(const std::string& source, const std::string& out_dir) {
  std::vector<BatchItem> items;
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    fs::recursive_directory_iterator it(source, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) throw Error::unreadable(source, ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) throw Error::unreadable(source, ec.message());
      if (!it->is_regular_file(ec) || !is_image_name(it->path())) continue;
      items.push_back({it->path().string(), fs::relative(it->path(), source).generic_string(), ""});
    }
  } else {
    std::istringstream in(read_input_file(source, int64_t{1} << 30, "an image list (one image path per line)"));
    const fs::path base = fs::path(source).parent_path();
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      const fs::path p(line);
      items.push_back({(p.is_absolute() ? p : base / p).string(), p.relative_path().generic_string(), ""});
    }
  }
  std::sort(items.begin(), items.end(), [](const BatchItem& a, const BatchItem& b) { return a.name < b.name; });
  std::map<std::string, std::string> owner;  // output -> the image it belongs to
  for (auto& item : items) {
    const fs::path name(item.name);
    for (const auto& part : name) {
      if (part == "..") {
        throw Error::usage("image list '" + source + "': '" + item.name +
                           "' would put its output outside the output directory; list paths without '..'");
      }
    }
    item.output = (fs::path(out_dir) / fs::path(name).replace_extension(".png")).string();
    auto [it, inserted] = owner.emplace(item.output, item.image);
    if (!inserted) {
      throw Error::usage("'" + it->second + "' and '" + item.image + "' would both write '" + item.output +
                         "'; rename one of them");
    }
  }
  return items;
}

std::vector<BatchItem> take_shard(const std::vector<BatchItem>& items, const std::string& shard) {
  if (shard.empty()) return items;
  const auto slash = shard.find('/');
  int index = -1, count = 0;
  const bool ok = slash != std::string::npos &&
                  std::from_chars(shard.data(), shard.data() + slash, index).ptr == shard.data() + slash &&
                  std::from_chars(shard.data() + slash + 1, shard.data() + shard.size(), count).ptr == shard.data() + shard.size();
  if (!ok || count < 1 || index < 0 || index >= count) {
    throw Error::usage("--shard '" + shard + "': write I/N with 0 <= I < N, e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT");
  }
  std::vector<BatchItem> mine;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (static_cast<int>(i % static_cast<std::size_t>(count)) == index) mine.push_back(items[i]);
  }
  return mine;
}

std::string ranked_path(const std::string& path, int rank, int top_k) {
  if (top_k == 0 || path.empty()) return path;
  fs::path p(path);
  const std::string ext = p.extension().string();
  return p.replace_extension().string() + ".top" + std::to_string(rank) + ext;
}

void check_batch_settings(const std::string& out_dir, const nlohmann::ordered_json& settings, bool overwrite) {
  const std::string record = (fs::path(out_dir) / ".cnnviz-gradcam.json").string();
  const std::string text = json_text(settings, 2) + "\n";
  if (overwrite) {
    write_file_atomically(record, text);
    return;
  }
  // The first run into OUTDIR records its settings; shards that start at the same moment with other
  // settings are refused like later runs.
  if (!write_new_file_atomically(record, text)) {
    const nlohmann::ordered_json theirs = nlohmann::ordered_json::parse(
        read_input_file(record, int64_t{1} << 20, "cnnviz's settings record"), nullptr, /*allow_exceptions=*/false);
    if (theirs == settings) return;
    std::string differ;
    if (theirs.is_object()) {
      for (const auto& [key, value] : settings.items()) {
        if (!theirs.contains(key) || theirs[key] != value) differ += (differ.empty() ? "" : ", ") + key;
      }
    }
    throw Error::usage("'" + out_dir + "' holds overlays made with other settings (" + (differ.empty() ? "unreadable " + record : differ) +
                       "); use another -o, or --overwrite to redo them all");
  }
}

}  // namespace cnnviz
