#pragma once

#include <cstdint>
#include <string>

namespace cnnviz {

/// An input file, open for reading. Opening never blocks: a FIFO, socket or device is refused, as is
/// a directory, before anything is read. `what` names the expected content for messages, e.g. "a PNG
/// or JPEG image". Throws Error(kInput): missing, a directory, not a regular file, unreadable.
class InputFile {
 public:
  InputFile(const std::string& path, const std::string& what);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  /// The size the file system reported when the file was opened.
  int64_t size() const { return size_; }
  /// A name for this open file (/proc/self/fd/N on Linux, else path()), for code that opens files by
  /// name (LibTorch): it reaches the file checked here even if `path` is renamed or replaced meanwhile.
  const std::string& open_name() const { return open_name_; }
  /// The whole file from its start. Reads to the end rather than trusting size(), but never more than
  /// `max_bytes`: throws Error(kResource) beyond that.
  std::string read_all(int64_t max_bytes) const;

 private:
  std::string path_;
  std::string what_;
  std::string open_name_;
  int fd_ = -1;
  int64_t size_ = 0;
};

/// The whole of an input file other than a model (an image, a labels file, an image list), as
/// InputFile(path, what).read_all(max_bytes).
std::string read_input_file(const std::string& path, int64_t max_bytes, const std::string& what);

}  // namespace cnnviz
