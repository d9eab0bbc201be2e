// Regular files read within a bound, and files replaced whole (see qlinear/files.hpp).
#include "qlinear/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "qlinear/error.hpp"

namespace qlinear {
namespace {

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

InputFile::InputFile(const std::string& path, int64_t max_bytes) : path_(path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  require(fd_ >= 0, path, ": cannot open (", std::strerror(errno), ")");
  struct stat st {};
  const bool stat_ok = fstat(fd_, &st) == 0;
  if (!stat_ok || !S_ISREG(st.st_mode)) {
    const std::string kind = stat_ok ? file_kind(st.st_mode) : std::strerror(errno);
    ::close(fd_);
    throw Error(cat(path, ": is ", kind, "; expected a regular file"));
  }
  size_ = static_cast<int64_t>(st.st_size);
  if (size_ > max_bytes) {
    ::close(fd_);
    throw Error(cat(path, ": holds ", size_, " bytes; at most ", max_bytes, " are read from it"));
  }
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string InputFile::read_all() const {
  std::string bytes;
  try {
    bytes.resize(static_cast<size_t>(size_));
  } catch (const std::bad_alloc&) {
    throw Error(cat(path_, ": not enough memory to read its ", size_, " bytes"));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got =
        ::pread(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    require(got >= 0, path_, ": read failed (", std::strerror(errno), ")");
    require(got > 0, path_, ": ended after ", done, " of its ", size_,
            " bytes (it changed while being read)");
    done += static_cast<size_t>(got);
  }
  return bytes;
}

ReplacingWriter::ReplacingWriter(const std::string& path) : path_(path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0)
    require(S_ISREG(st.st_mode), path, ": is ", file_kind(st.st_mode),
            "; expected a regular file (or a new name) to write");
  temporary_ = cat(folder_of(path), "/.qlinear-", ::getpid(), "-XXXXXX");
  fd_ = ::mkostemp(temporary_.data(), O_CLOEXEC);
  require(fd_ >= 0, path, ": cannot create a temporary file in ", folder_of(path), " (",
          std::strerror(errno), ")");
  // mkostemp creates the file 0600; a written file gets the mode a new file would (0666 & ~umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
}

ReplacingWriter::~ReplacingWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temporary_.c_str());
  }
}

void ReplacingWriter::write(const void* bytes, size_t count) {
  const auto* p = static_cast<const char*>(bytes);
  while (count > 0) {
    const ssize_t put = ::write(fd_, p, count);
    if (put < 0 && errno == EINTR) continue;
    require(put > 0, path_, ": write failed (", std::strerror(put < 0 ? errno : ENOSPC),
            "); the file is left as it was");
    p += put;
    count -= static_cast<size_t>(put);
  }
}

void ReplacingWriter::commit() {
  require(::fsync(fd_) == 0, path_, ": write failed (", std::strerror(errno),
          "); the file is left as it was");
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0 || ::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary_.c_str());
    throw Error(
        cat(path_, ": cannot write (", std::strerror(error), "); the file is left as it was"));
  }
}

}  // namespace qlinear
