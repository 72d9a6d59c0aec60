#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/input_file.h"

namespace cnnviz {

/// One entry of a zip central directory.
struct ZipEntry {
  std::string name;
  uint64_t offset = 0;             ///< of its local header
  uint64_t compressed_size = 0;
  uint64_t size = 0;               ///< uncompressed
  uint16_t method = 0;             ///< 0 stored, 8 deflated
};

/// A zip archive's central directory, read and checked without LibTorch (PKWARE APPNOTE 4.3, zip64
/// included): every entry lies inside the file and no name contains "..". Both model formats are zip
/// archives: TorchScript (zip_preflight.h) and torch.export's .pt2 (export_program.h).
class ZipArchive {
 public:
  /// Reads `file`'s central directory; messages name file.path(). Throws Error(kModel) for a file that
  /// is not a zip archive (`describe` says what it is instead, e.g. "not a zip archive: it is a PNG
  /// image"), or one that is truncated or corrupted, or has more than `max_entries` entries.
  ZipArchive(const InputFile& file, std::size_t max_entries = 200000);
  /// The zip archive stored (uncompressed) as `entry` of `outer` (torch.save's archives inside a
  /// PyTorch 2.6 `.pt2`), read in place; messages name the outer file.
  ZipArchive(ZipArchive& outer, const ZipEntry& entry, std::size_t max_entries = 200000);

  const std::string& path() const { return path_; }
  int64_t file_size() const { return size_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  /// The archive's top folder ("resnet18" in "resnet18/data.pkl").
  std::string prefix() const;
  /// The entry called `name`, or nullptr.
  const ZipEntry* find(const std::string& name) const;
  /// The bytes of `entry`, stored or deflated; throws Error(kModel) when they do not inflate to its
  /// size, when it uses another compression method, or when it is larger than `max_bytes`.
  std::string read(const ZipEntry& entry, uint64_t max_bytes = uint64_t{1} << 32);
  /// "'PATH' is a truncated or corrupted zip archive (WHY); copy or export the model again".
  Error corrupted(const std::string& why) const;

 private:
  std::vector<unsigned char> read_at(int64_t offset, int64_t count);
  void read_directory(std::size_t max_entries);
  /// Where `entry`'s data begins in the file (past its local header), checked to lie inside this archive.
  int64_t data_offset(const ZipEntry& entry);

  std::string path_;
  std::string open_name_;
  std::ifstream in_;
  int64_t base_ = 0;  ///< where this archive begins in the file (an archive inside another)
  int64_t size_ = 0;
  std::vector<ZipEntry> entries_;
};

/// What a file that is not a zip archive looks like, from its first bytes ("the file is empty",
/// "not a zip archive: it is a JPEG image", ...).
std::string describe_non_zip(const std::vector<unsigned char>& head);

}  // namespace cnnviz
