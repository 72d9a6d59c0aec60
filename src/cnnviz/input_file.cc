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

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

std::string quoted(const std::string& path) { return "'" + path + "'"; }

}  // namespace

std::string read_input_file(const std::string& path, int64_t max_bytes, const std::string& what) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) throw Error::file_not_found(path);
    throw Error::unreadable(path, std::strerror(err));
  }
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error::unreadable(path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(ErrorKind::kInput, quoted(path) + " is a directory, not a file; give the path of " + what);
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorKind::kInput, quoted(path) + " is not a regular file (a FIFO, socket or device); give the path of " + what);
  }
  auto too_large = [&](int64_t size) {
    return Error(ErrorKind::kResource, quoted(path) + " is " + std::to_string(size) + " bytes, more than the limit of " +
                                           std::to_string(max_bytes) + " bytes for " + what + "; use a smaller file");
  };
  if (st.st_size > max_bytes) throw too_large(st.st_size);

  std::string bytes;
  bytes.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == bytes.size()) {
      if (static_cast<int64_t>(used) > max_bytes) throw too_large(static_cast<int64_t>(used));
      bytes.resize(std::min<std::size_t>(bytes.size() * 2, static_cast<std::size_t>(max_bytes) + 1));
    }
    const ssize_t n = ::read(fd, &bytes[used], bytes.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error::unreadable(path, std::strerror(errno));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  bytes.resize(used);
  return bytes;
}

}  // namespace cnnviz
