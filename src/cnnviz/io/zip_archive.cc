#include "cnnviz/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

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

}  // namespace

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

Error ZipArchive::corrupted(const std::string& why) const {
  return Error(ErrorKind::kModel, "'" + path_ + "' is a truncated or corrupted zip archive (" + why + "); copy or export the model again");
}

std::vector<unsigned char> ZipArchive::read_at(int64_t offset, int64_t count) {
  if (offset < 0 || count < 0 || offset > size_ || count > size_ - offset) throw corrupted("an entry points outside the file");
  std::vector<unsigned char> buf(static_cast<std::size_t>(count));
  in_.clear();
  in_.seekg(base_ + offset);
  in_.read(reinterpret_cast<char*>(buf.data()), count);
  if (!in_) throw Error::unreadable(path_, "read failed");
  return buf;
}

ZipArchive::ZipArchive(const InputFile& file, std::size_t max_entries)
    : path_(file.path()), open_name_(file.open_name()), in_(open_name_, std::ios::binary) {
  if (!in_) throw Error::unreadable(path_, "permission denied or I/O error");
  in_.seekg(0, std::ios::end);
  size_ = static_cast<int64_t>(in_.tellg());
  read_directory(max_entries);
}

ZipArchive::ZipArchive(ZipArchive& outer, const ZipEntry& entry, std::size_t max_entries)
    : path_(outer.path_), open_name_(outer.open_name_), in_(open_name_, std::ios::binary) {
  if (!in_) throw Error::unreadable(path_, "permission denied or I/O error");
  if (entry.method != 0) throw outer.corrupted("the archive '" + entry.name + "' inside it is compressed");
  base_ = outer.data_offset(entry);
  size_ = static_cast<int64_t>(entry.size);
  if (entry.compressed_size != entry.size) throw outer.corrupted("stored entry '" + entry.name + "' has two sizes");
  read_directory(max_entries);
}

int64_t ZipArchive::data_offset(const ZipEntry& entry) {
  const auto local = read_at(static_cast<int64_t>(entry.offset), 30);
  if (read_le(local.data(), 4) != kLocalHeader) throw corrupted("bad local header for '" + entry.name + "'");
  const int64_t at = static_cast<int64_t>(entry.offset) + 30 + static_cast<int64_t>(read_le(local.data() + 26, 2)) +
                     static_cast<int64_t>(read_le(local.data() + 28, 2));
  if (at > size_ || static_cast<int64_t>(entry.compressed_size) > size_ - at) throw corrupted("entry '" + entry.name + "' lies beyond the end of the file");
  return base_ + at;
}

void ZipArchive::read_directory(std::size_t max_entries) {
  const auto head = read_at(0, std::min<int64_t>(size_, 8));
  if (head.size() < 4 || read_le(head.data(), 4) != kLocalHeader) throw Error::not_torchscript(path_, describe_non_zip(head));

  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  const int64_t tail_len = std::min<int64_t>(size_, 22 + 65535);
  const auto tail = read_at(size_ - tail_len, tail_len);
  int64_t eocd = -1;
  for (int64_t i = tail_len - 22; i >= 0; --i) {
    if (read_le(&tail[static_cast<std::size_t>(i)], 4) == kEndOfCentralDir) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupted("no end-of-central-directory record");
  const unsigned char* e = &tail[static_cast<std::size_t>(eocd)];
  uint64_t entry_count = read_le(e + 10, 2);
  uint64_t cd_size = read_le(e + 12, 4);
  uint64_t cd_offset = read_le(e + 16, 4);
  if (entry_count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    // Zip64: the locator sits 20 bytes before the classic record.
    const int64_t locator = size_ - tail_len + eocd - 20;
    if (locator < 0) throw corrupted("missing zip64 locator");
    const auto loc = read_at(locator, 20);
    if (read_le(loc.data(), 4) != kZip64Locator) throw corrupted("missing zip64 locator");
    const auto rec = read_at(static_cast<int64_t>(std::min<uint64_t>(read_le(loc.data() + 8, 8), INT64_MAX)), 56);
    if (read_le(rec.data(), 4) != kZip64EndOfCentralDir) throw corrupted("bad zip64 record");
    entry_count = read_le(rec.data() + 32, 8);
    cd_size = read_le(rec.data() + 40, 8);
    cd_offset = read_le(rec.data() + 48, 8);
  }
  if (entry_count > max_entries) {
    throw Error(ErrorKind::kModel, "'" + path_ + "' has " + std::to_string(entry_count) + " zip entries, more than the limit of " +
                                       std::to_string(max_entries) + "; this is not a model cnnviz reads");
  }
  if (cd_offset > static_cast<uint64_t>(size_) || cd_size > static_cast<uint64_t>(size_) - cd_offset) {
    throw corrupted("central directory beyond end of file");
  }
  const auto cd = read_at(static_cast<int64_t>(cd_offset), static_cast<int64_t>(cd_size));

  std::size_t pos = 0;
  for (uint64_t i = 0; i < entry_count; ++i) {
    if (pos + 46 > cd.size() || read_le(&cd[pos], 4) != kCentralHeader) throw corrupted("bad central directory entry");
    const unsigned char* c = &cd[pos];
    ZipEntry l;
    l.method = static_cast<uint16_t>(read_le(c + 10, 2));
    l.compressed_size = read_le(c + 20, 4);
    l.size = read_le(c + 24, 4);
    const std::size_t name_len = read_le(c + 28, 2), extra_len = read_le(c + 30, 2), comment_len = read_le(c + 32, 2);
    l.offset = read_le(c + 42, 4);
    if (pos + 46 + name_len + extra_len + comment_len > cd.size()) throw corrupted("bad central directory entry");
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
        take(l.size);
        take(l.compressed_size);
        take(l.offset);
      }
      x += 4 + len;
    }
    if (l.name.find("..") != std::string::npos) throw corrupted("entry name '" + l.name + "' escapes the archive");
    const auto size = static_cast<uint64_t>(size_);
    if (l.offset > size || 30 > size - l.offset || l.compressed_size > size - l.offset) {
      throw corrupted("entry '" + l.name + "' lies beyond the end of the file");
    }
    entries_.push_back(std::move(l));
    pos += 46 + name_len + extra_len + comment_len;
  }
}

std::string ZipArchive::prefix() const {
  if (entries_.empty()) return "";
  const std::string& first = entries_.front().name;
  return first.substr(0, first.find('/'));
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  for (const ZipEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string ZipArchive::read(const ZipEntry& entry, uint64_t max_bytes) {
  if (entry.method != 0 && entry.method != 8) {
    throw corrupted("entry '" + entry.name + "' uses compression method " + std::to_string(entry.method));
  }
  if (entry.size > max_bytes) {
    throw Error(ErrorKind::kModel, "'" + path_ + "': entry '" + entry.name + "' holds " + std::to_string(entry.size) +
                                       " bytes, more than the limit of " + std::to_string(max_bytes) + "; this is not a model cnnviz reads");
  }
  const int64_t data_at = data_offset(entry) - base_;
  if (entry.method == 0) {
    if (entry.compressed_size != entry.size) throw corrupted("stored entry '" + entry.name + "' has two sizes");
    const auto raw = read_at(data_at, static_cast<int64_t>(entry.size));
    return std::string(raw.begin(), raw.end());
  }
  const auto raw = read_at(data_at, static_cast<int64_t>(entry.compressed_size));
  std::string bytes(static_cast<std::size_t>(entry.size), '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw Error(ErrorKind::kResource, "cannot read '" + path_ + "': out of memory");
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(std::min<std::size_t>(raw.size(), UINT32_MAX));
  z.next_out = reinterpret_cast<Bytef*>(bytes.data());
  z.avail_out = static_cast<uInt>(std::min<std::size_t>(bytes.size(), UINT32_MAX));
  const int rc = inflate(&z, Z_FINISH);
  const bool whole = rc == Z_STREAM_END && z.avail_out == 0;
  inflateEnd(&z);
  if (!whole) throw corrupted("entry '" + entry.name + "' does not inflate to its size");
  return bytes;
}

}  // namespace cnnviz
