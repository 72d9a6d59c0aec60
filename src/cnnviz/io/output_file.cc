#include "cnnviz/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

Error cannot_write(const std::string& path, const std::string& reason) {
  return Error(ErrorKind::kOutput, "cannot write '" + path + "': " + reason);
}

// The process umask without changing it: /proc/self/status has it since Linux 4.7. Elsewhere fall back
// to setting and restoring it, which is racy only against other threads creating files meanwhile.
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  }
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

void write_stdout(const std::string& bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
    throw Error(ErrorKind::kOutput, std::string("cannot write to stdout: ") + std::strerror(errno));
  }
}

// Removes the temporary file unless the rename consumed it.
class TempFile {
 public:
  TempFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  /// close(2) once; its error matters (NFS reports write errors there).
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void mark_renamed() { renamed_ = true; }

 private:
  std::string path_;
  int fd_;
  bool renamed_ = false;
};

// write_file_atomically's steps; `replace` false publishes with link(2), which fails if `path` exists.
// Returns false if it did (nothing written, no temporary file left).
bool publish(const std::string& path, const std::string& bytes, bool replace) {
  if (path.empty() || path.back() == '/') throw cannot_write(path, "it names a directory, not a file; give a file name");
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);

  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw cannot_write(path, "directory '" + dir + "' does not exist; create it first");
    throw cannot_write(path, "cannot reach directory '" + dir + "' (" + std::strerror(errno) + ")");
  }
  if (!S_ISDIR(st.st_mode)) throw cannot_write(path, "'" + dir + "' is not a directory");
  if (::access(dir.c_str(), W_OK) != 0) {
    throw cannot_write(path, "directory '" + dir + "' is not writable (" + std::strerror(errno) + ")");
  }
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw cannot_write(path, "it is a directory; give a file name");
  }

  std::string temp_path = (slash == std::string::npos ? "" : path.substr(0, slash + 1)) + base + ".tmp.XXXXXX";
  const int fd = ::mkostemp(temp_path.data(), O_CLOEXEC);
  if (fd < 0) throw cannot_write(path, std::string("cannot create a temporary file: ") + std::strerror(errno));
  TempFile temp(temp_path, fd);

  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(temp.fd(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw cannot_write(path, std::strerror(errno));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // mkstemp creates the file 0600; give it the mode a plain open(O_CREAT, 0644) would.
  if (::fchmod(temp.fd(), 0644 & ~current_umask()) != 0) throw cannot_write(path, std::strerror(errno));
  if (::fsync(temp.fd()) != 0) throw cannot_write(path, std::strerror(errno));
  if (temp.close() != 0) throw cannot_write(path, std::strerror(errno));
  if (replace) {
    if (::rename(temp.path().c_str(), path.c_str()) != 0) throw cannot_write(path, std::strerror(errno));
    temp.mark_renamed();
  } else if (::link(temp.path().c_str(), path.c_str()) != 0) {
    // The temporary name is removed either way (TempFile); `path` keeps the linked file.
    const int err = errno;
    if (err == EEXIST) return false;
    if (err != EPERM && err != ENOTSUP && err != ENOSYS) throw cannot_write(path, std::strerror(err));
    // A file system without hard links: check, then rename (not atomic against a concurrent writer).
    if (::stat(path.c_str(), &st) == 0) return false;
    if (::rename(temp.path().c_str(), path.c_str()) != 0) throw cannot_write(path, std::strerror(errno));
    temp.mark_renamed();
  }

  // Make the rename itself durable; some file systems refuse fsync on a directory, which is fine.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return true;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  if (path == "-") {
    write_stdout(bytes);
    return;
  }
  publish(path, bytes, /*replace=*/true);
}

bool write_new_file_atomically(const std::string& path, const std::string& bytes) {
  return publish(path, bytes, /*replace=*/false);
}

}  // namespace cnnviz
