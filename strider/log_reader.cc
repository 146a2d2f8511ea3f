#include "strider/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/host_layout.h"
#include "strider/container/container_runtime.h"

namespace rv::strider {
namespace {

// An open log file; closed on scope exit.
struct OpenFile {
  int fd = -1;
  struct stat st {};
  explicit OpenFile(const std::string& path) {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && fstat(fd, &st) != 0) {
      close(fd);
      fd = -1;
    }
  }
  ~OpenFile() {
    if (fd >= 0) close(fd);
  }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
};

// Appends [from, min(to, from + max)) of `f` to `out`; the offset reached.
int64_t ReadRange(const OpenFile& f, int64_t from, int64_t to, int64_t max, std::string* out) {
  to = std::min(to, from + std::max<int64_t>(0, max));
  size_t base = out->size();
  out->resize(base + static_cast<size_t>(std::max<int64_t>(0, to - from)));
  int64_t at = from;
  while (at < to) {
    ssize_t n = pread(f.fd, out->data() + base + (at - from), static_cast<size_t>(to - at), at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // shrank under us: keep what was read
    at += n;
  }
  out->resize(base + static_cast<size_t>(at - from));
  return at;
}

}  // namespace

msg::LogChunk ReadLogChunk(const std::string& path, const msg::LogCursor& cursor, int64_t tail_bytes,
                           int64_t max_bytes) {
  msg::LogChunk c;
  c.next = cursor;
  max_bytes = std::clamp<int64_t>(max_bytes, 0, msg::kMaxLogChunkBytes);
  OpenFile cur(path);
  if (cur.fd < 0) {
    c.error = errno == ENOENT ? "no log yet (nothing written, or the job never started here)"
                              : "cannot open the log: " + std::string(strerror(errno));
    return c;
  }
  const uint64_t ino = cur.st.st_ino;
  const int64_t size = cur.st.st_size;
  if (cursor.ino == 0) {
    int64_t want = std::min(std::max<int64_t>(0, tail_bytes), max_bytes);
    int64_t from = std::max<int64_t>(0, size - want);
    c.next = {ino, ReadRange(cur, from, size, max_bytes, &c.data)};
    return c;
  }
  if (cursor.ino == ino) {
    int64_t from = cursor.offset;
    if (from > size) {  // truncated
      from = 0;
      c.gap = true;
    }
    c.next = {ino, ReadRange(cur, from, size, max_bytes, &c.data)};
    return c;
  }
  // Rotated: the rest of the old file (now <path>.1), then the new one.
  OpenFile old(path + ".1");
  if (old.fd >= 0 && static_cast<uint64_t>(old.st.st_ino) == cursor.ino && cursor.offset <= old.st.st_size) {
    int64_t at = ReadRange(old, cursor.offset, old.st.st_size, max_bytes, &c.data);
    if (at < old.st.st_size) {
      c.next = {cursor.ino, at};
      return c;
    }
    int64_t left = max_bytes - static_cast<int64_t>(c.data.size());
    c.next = {ino, ReadRange(cur, 0, size, left, &c.data)};
    return c;
  }
  c.gap = true;
  c.next = {ino, ReadRange(cur, 0, size, max_bytes, &c.data)};
  return c;
}

std::string LogPathOfJob(const std::string& data_dir, const std::string& container_state_dir,
                         const std::string& job_id) {
  std::string console = host_layout::ConsoleLogPath(
      host_layout::ContainerDir(container_state_dir, container::ContainerIdFor(job_id)));
  if (access(console.c_str(), F_OK) == 0) return console;
  return host_layout::ProcessLogPath(data_dir, job_id);
}

}  // namespace rv::strider
