#include "cnnviz/zip_preflight.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

// Zip record signatures (PKWARE APPNOTE 4.3).
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;

uint64_t read_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

class ArchiveReader {
 public:
  ArchiveReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw Error::unreadable(path, "permission denied or I/O error");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<int64_t>(in_.tellg());
  }

  int64_t size() const { return size_; }

  std::vector<unsigned char> read(int64_t offset, int64_t count) {
    if (offset < 0 || count < 0 || offset + count > size_) throw corrupted("an entry points outside the file");
    std::vector<unsigned char> buf(static_cast<std::size_t>(count));
    in_.clear();
    in_.seekg(offset);
    in_.read(reinterpret_cast<char*>(buf.data()), count);
    if (!in_) throw Error::unreadable(path_, "read failed");
    return buf;
  }

  Error corrupted(const std::string& why) const {
    return Error(ErrorKind::kModel, "'" + path_ + "' is a truncated or corrupted zip archive (" + why +
                                        "); copy or export the model again");
  }

 private:
  std::string path_;
  std::ifstream in_;
  int64_t size_ = 0;
};

std::string describe_non_zip(const std::vector<unsigned char>& head) {
  auto starts = [&](const char* magic, std::size_t n) {
    return head.size() >= n && std::memcmp(head.data(), magic, n) == 0;
  };
  if (head.empty()) return "the file is empty";
  if (starts("\x89PNG", 4)) return "not a zip archive: it is a PNG image";
  if (starts("\xff\xd8\xff", 3)) return "not a zip archive: it is a JPEG image";
  if (head[0] == 0x80) return "not a zip archive: it is a legacy torch.save pickle";
  if (starts("\x1f\x8b", 2)) return "not a zip archive: it is gzip data";
  return "not a zip archive";
}

}  // namespace

ArchiveInfo preflight_archive(const std::string& path, const std::string& libtorch_version,
                              const ArchiveLimits& limits) {
  ArchiveReader reader(path);
  const int64_t size = reader.size();
  auto head = reader.read(0, std::min<int64_t>(size, 8));
  if (head.size() < 4 || read_le(head.data(), 4) != kLocalHeader) {
    throw Error::not_torchscript(path, describe_non_zip(head));
  }

  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  const int64_t tail_len = std::min<int64_t>(size, 22 + 65535);
  auto tail = reader.read(size - tail_len, tail_len);
  int64_t eocd = -1;
  for (int64_t i = tail_len - 22; i >= 0; --i) {
    if (read_le(&tail[static_cast<std::size_t>(i)], 4) == kEndOfCentralDir) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw reader.corrupted("no end-of-central-directory record");
  const unsigned char* e = &tail[static_cast<std::size_t>(eocd)];
  uint64_t entry_count = read_le(e + 10, 2);
  uint64_t cd_size = read_le(e + 12, 4);
  uint64_t cd_offset = read_le(e + 16, 4);
  if (entry_count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    // Zip64: the locator sits 20 bytes before the classic record.
    const int64_t locator = size - tail_len + eocd - 20;
    if (locator < 0) throw reader.corrupted("missing zip64 locator");
    auto loc = reader.read(locator, 20);
    if (read_le(loc.data(), 4) != kZip64Locator) throw reader.corrupted("missing zip64 locator");
    auto rec = reader.read(static_cast<int64_t>(read_le(loc.data() + 8, 8)), 56);
    if (read_le(rec.data(), 4) != kZip64EndOfCentralDir) throw reader.corrupted("bad zip64 record");
    entry_count = read_le(rec.data() + 32, 8);
    cd_size = read_le(rec.data() + 40, 8);
    cd_offset = read_le(rec.data() + 48, 8);
  }
  if (entry_count > limits.max_entries) {
    throw Error(ErrorKind::kModel, "'" + path + "' has " + std::to_string(entry_count) +
                                       " zip entries, more than the limit of " +
                                       std::to_string(limits.max_entries) + "; this is not a model cnnviz reads");
  }
  if (cd_offset + cd_size > static_cast<uint64_t>(size)) throw reader.corrupted("central directory beyond end of file");
  auto cd = reader.read(static_cast<int64_t>(cd_offset), static_cast<int64_t>(cd_size));

  ArchiveInfo info;
  struct Located {
    std::string name;
    uint64_t offset, csize, usize;
    uint16_t method;
  };
  std::vector<Located> located;
  std::size_t pos = 0;
  for (uint64_t i = 0; i < entry_count; ++i) {
    if (pos + 46 > cd.size() || read_le(&cd[pos], 4) != kCentralHeader) throw reader.corrupted("bad central directory entry");
    const unsigned char* c = &cd[pos];
    Located l;
    l.method = static_cast<uint16_t>(read_le(c + 10, 2));
    l.csize = read_le(c + 20, 4);
    l.usize = read_le(c + 24, 4);
    const std::size_t name_len = read_le(c + 28, 2), extra_len = read_le(c + 30, 2), comment_len = read_le(c + 32, 2);
    l.offset = read_le(c + 42, 4);
    if (pos + 46 + name_len + extra_len + comment_len > cd.size()) throw reader.corrupted("bad central directory entry");
    l.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    // Zip64 extended information: 64-bit sizes/offset for fields saturated at 0xffffffff.
    std::size_t x = pos + 46 + name_len;
    const std::size_t x_end = x + extra_len;
    while (x + 4 <= x_end) {
      const uint64_t id = read_le(&cd[x], 2), len = read_le(&cd[x + 2], 2);
      if (x + 4 + len > x_end) break;
      if (id == 0x0001) {
        std::size_t f = x + 4;
        auto take = [&](uint64_t& field) {
          if (field == 0xffffffff && f + 8 <= x + 4 + len) {
            field = read_le(&cd[f], 8);
            f += 8;
          }
        };
        take(l.usize);
        take(l.csize);
        take(l.offset);
      }
      x += 4 + len;
    }
    if (l.name.find("..") != std::string::npos) throw reader.corrupted("entry name '" + l.name + "' escapes the archive");
    if (l.offset + 30 > static_cast<uint64_t>(size) || l.offset + l.csize > static_cast<uint64_t>(size)) {
      throw reader.corrupted("entry '" + l.name + "' lies beyond the end of the file");
    }
    info.entries.push_back(l.name);
    located.push_back(l);
    pos += 46 + name_len + extra_len + comment_len;
  }
  if (located.empty()) throw Error::not_torchscript(path, "an empty zip archive");

  const std::string& first = located.front().name;
  info.prefix = first.substr(0, first.find('/'));
  const std::string p = info.prefix + "/";
  for (const auto& l : located) {
    if (l.name.rfind(p + "code/", 0) == 0) info.has_code = true;
    if (l.name == p + "constants.pkl") info.has_constants = true;
    if ((l.name == p + "version" || l.name == p + ".data/version") && l.method == 0 && l.usize < 32) {
      auto local = reader.read(static_cast<int64_t>(l.offset), 30);
      if (read_le(local.data(), 4) != kLocalHeader) throw reader.corrupted("bad local header for '" + l.name + "'");
      const int64_t data_at = static_cast<int64_t>(l.offset) + 30 + static_cast<int64_t>(read_le(local.data() + 26, 2)) +
                              static_cast<int64_t>(read_le(local.data() + 28, 2));
      auto text = reader.read(data_at, static_cast<int64_t>(l.usize));
      std::string s(text.begin(), text.end());
      try {
        info.format_version = std::stoll(s);
      } catch (const std::exception&) {
        throw reader.corrupted("unreadable version record '" + s + "'");
      }
    }
  }
  bool has_data_pkl = std::any_of(located.begin(), located.end(), [&](const Located& l) { return l.name == p + "data.pkl"; });
  if (!has_data_pkl) throw Error::not_torchscript(path, "a zip archive without data.pkl");
  if (!info.has_code || !info.has_constants) {
    throw Error::not_torchscript(path, "a zip archive with no TorchScript code: a state_dict or tensors saved with torch.save?");
  }
  if (info.format_version > limits.max_supported_version) {
    throw Error(ErrorKind::kModel,
                "'" + path + "' was written by a newer PyTorch (archive format version " +
                    std::to_string(info.format_version) + "); this cnnviz runs on LibTorch " + libtorch_version +
                    ", which reads format versions up to " + std::to_string(limits.max_supported_version) +
                    ": re-export the model with that PyTorch version or rebuild cnnviz against a newer LibTorch");
  }
  return info;
}

}  // namespace cnnviz
