#include "strider/container/log_follow.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace rv::container {

Status FollowLog(const std::string& path, int64_t tail_bytes, const std::function<void(const std::string&)>& sink,
                 const std::function<bool()>& should_stop, int poll_ms) {
  int fd = -1;
  ino_t ino = 0;
  auto open_log = [&](bool tail) -> bool {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    struct stat st;
    fstat(fd, &st);
    ino = st.st_ino;
    if (tail && st.st_size > tail_bytes) lseek(fd, st.st_size - tail_bytes, SEEK_SET);
    return true;
  };
  bool first = true;
  char buf[65536];
  while (!should_stop()) {
    if (fd < 0) {
      if (!open_log(first)) {
        if (errno != ENOENT) return Status::Io("open " + path + ": " + strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
        continue;
      }
      first = false;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      sink(std::string(buf, n));
      continue;
    }
    // At the end: rotated away? Then the old file is complete; switch.
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && st.st_ino != ino) {
      close(fd);
      fd = -1;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  if (fd >= 0) close(fd);
  return Status::Ok();
}

}  // namespace rv::container
