// LogFile: a container's stdout+stderr on disk, bounded. Appends go to
// <path>; once it would pass max_bytes it is rotated (<path>.1 .. <path>.N,
// oldest dropped), so a container's logs never take more than
// (keep + 1) * max_bytes. `rv logs -f` follows <path> (and re-opens it when
// it is rotated). Only the app's own output is written here, never our env.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rv::container {

class LogFile {
 public:
  LogFile(std::string path, int64_t max_bytes, int keep) : path_(std::move(path)), max_(max_bytes), keep_(keep) {}
  ~LogFile();
  Status Append(const char* data, size_t n);
  const std::string& path() const { return path_; }
  int64_t rotations() const { return rotations_; }

 private:
  Status OpenIfNeeded();
  void Rotate();
  std::string path_;
  int64_t max_;
  int keep_;
  int fd_ = -1;
  int64_t size_ = 0;
  int64_t rotations_ = 0;
};

}  // namespace rv::container
