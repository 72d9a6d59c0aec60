#include "cnnviz/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

std::string quoted(const std::string& path) { return "'" + path + "'"; }

}  // namespace

InputFile::InputFile(const std::string& path, const std::string& what) : path_(path), what_(what), open_name_(path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after.
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) throw Error::file_not_found(path);
    throw Error::unreadable(path, std::strerror(err));
  }
  struct stat st {};
  const int stat_error = ::fstat(fd_, &st) != 0 ? errno : 0;
  auto fail = [&](const Error& e) {
    ::close(fd_);
    throw e;
  };
  if (stat_error != 0) fail(Error::unreadable(path, std::strerror(stat_error)));
  if (S_ISDIR(st.st_mode)) fail(Error(ErrorKind::kInput, quoted(path) + " is a directory, not a file; give the path of " + what));
  if (!S_ISREG(st.st_mode)) {
    fail(Error(ErrorKind::kInput, quoted(path) + " is not a regular file (a FIFO, socket or device); give the path of " + what));
  }
  size_ = static_cast<int64_t>(st.st_size);
#ifdef __linux__
  const std::string by_fd = "/proc/self/fd/" + std::to_string(fd_);
  if (::access(by_fd.c_str(), R_OK) == 0) open_name_ = by_fd;
#endif
}

InputFile::~InputFile() { ::close(fd_); }

std::string InputFile::read_all(int64_t max_bytes) const {
  auto too_large = [&](int64_t size) {
    return Error(ErrorKind::kResource, quoted(path_) + " is " + std::to_string(size) + " bytes, more than the limit of " +
                                           std::to_string(max_bytes) + " bytes for " + what_ + "; use a smaller file");
  };
  if (size_ > max_bytes) throw too_large(size_);

  std::string bytes;
  bytes.resize(static_cast<std::size_t>(size_) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == bytes.size()) {
      if (static_cast<int64_t>(used) > max_bytes) throw too_large(static_cast<int64_t>(used));
      bytes.resize(std::min<std::size_t>(bytes.size() * 2, static_cast<std::size_t>(max_bytes) + 1));
    }
    const ssize_t n = ::pread(fd_, &bytes[used], bytes.size() - used, static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error::unreadable(path_, std::strerror(errno));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  bytes.resize(used);
  return bytes;
}

std::string read_input_file(const std::string& path, int64_t max_bytes, const std::string& what) {
  return InputFile(path, what).read_all(max_bytes);
}

}  // namespace cnnviz
