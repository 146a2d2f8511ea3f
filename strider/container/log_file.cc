#include "strider/container/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace rv::container {

LogFile::~LogFile() {
  if (fd_ >= 0) close(fd_);
}

Status LogFile::OpenIfNeeded() {
  if (fd_ >= 0) return Status::Ok();
  fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd_ < 0) return Status::Io("open log " + path_ + ": " + strerror(errno));
  struct stat st;
  size_ = fstat(fd_, &st) == 0 ? st.st_size : 0;
  return Status::Ok();
}

void LogFile::Rotate() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  for (int i = keep_; i >= 1; i--) {
    std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
    std::string to = path_ + "." + std::to_string(i);
    rename(from.c_str(), to.c_str());
  }
  if (keep_ <= 0) unlink(path_.c_str());
  rotations_++;
}

Status LogFile::Append(const char* data, size_t n) {
  while (n > 0) {
    Status s = OpenIfNeeded();
    if (!s.ok()) return s;
    int64_t room = max_ - size_;
    if (room <= 0) {
      Rotate();
      continue;
    }
    size_t chunk = std::min<size_t>(n, static_cast<size_t>(room));
    ssize_t w = write(fd_, data, chunk);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::Io("write log: " + std::string(strerror(errno)));  // e.g. disk full: drop, stay up
    size_ += w;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

}  // namespace rv::container
