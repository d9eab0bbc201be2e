// Files at paths a user names: checkpoints, configs, .npy inputs and outputs.
//
// Reading: only a regular file is read, and never more than a stated bound. A FIFO, a device, a
// directory, a symbolic-link loop or a name too long is refused with a message before any byte is
// read, and opening never blocks (a FIFO without a writer would wait forever; /dev/zero never
// ends). Writing: into a temporary file in the target's folder that is renamed over the target only
// once every byte is written and flushed, so a failed write (no permission, a full disk) leaves the
// old file byte for byte as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qlinear {

// A regular file opened read-only; closed on destruction.
class InputFile {
 public:
  // Throws qlinear::Error naming `path` unless it is a regular file of at most `max_bytes`.
  InputFile(const std::string& path, int64_t max_bytes);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  int descriptor() const { return fd_; }
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // The whole file (size() bytes, read in a loop; a file that changed size meanwhile is an error).
  std::string read_all() const;

 private:
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

// A file written in full or not at all (see above). Destroyed before commit(), it removes the
// temporary file and the target stays as it was.
class ReplacingWriter {
 public:
  explicit ReplacingWriter(const std::string& path);
  ~ReplacingWriter();
  ReplacingWriter(const ReplacingWriter&) = delete;
  ReplacingWriter& operator=(const ReplacingWriter&) = delete;

  void write(const void* bytes, size_t count);
  // Flushes the bytes to disk and renames the temporary file over the target.
  void commit();

 private:
  std::string path_, temporary_;
  int fd_ = -1;
};

}  // namespace qlinear
