#include "strider/proxy_run_dir.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/crypto/sealed_box.h"

namespace rv::strider {

namespace {

constexpr const char* kCertsDir = "certs";
constexpr const char* kMasterSocket = "master.sock";

std::string Err(const std::string& what) { return what + ": " + strerror(errno); }

bool LeafOk(const std::string& s) {
  return !s.empty() && s.size() <= 200 && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

// dir/name as a directory owned by uid:gid; whatever else has that name (a
// link the container planted, a file) is removed first.
Result<int> OpenOwnedDir(int dir, const char* name, uint32_t uid, uint32_t gid) {
  int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) {
    if (errno != ENOENT && unlinkat(dir, name, 0) != 0 && errno != ENOENT) return Status::Io(Err(std::string("remove ") + name));
    if (mkdirat(dir, name, 0700) != 0 && errno != EEXIST) return Status::Io(Err(std::string("mkdir ") + name));
    fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return Status::Io(Err(std::string("open ") + name));
  if (fchown(fd, uid, gid) != 0 || fchmod(fd, 0700) != 0) {
    Status s = Status::Io(Err(std::string("chown ") + name));
    close(fd);
    return s;
  }
  return fd;
}

}  // namespace

Result<ProxyRunDir> ProxyRunDir::Open(const std::string& path, uint32_t uid, uint32_t gid) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return Status::Io(Err("mkdir " + path));
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::Io(Err("open " + path));
  ProxyRunDir d(fd, path, uid, gid);
  if (fchown(fd, uid, gid) != 0 || fchmod(fd, 0700) != 0) return Status::Io(Err("chown " + path));
  auto certs = OpenOwnedDir(fd, kCertsDir, uid, gid);
  if (!certs.ok()) return Status::Io(path + ": " + certs.status().message());
  close(*certs);
  return d;
}

ProxyRunDir::~ProxyRunDir() {
  if (fd_ >= 0) close(fd_);
}

ProxyRunDir::ProxyRunDir(ProxyRunDir&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)), uid_(o.uid_), gid_(o.gid_) {
  o.fd_ = -1;
}

ProxyRunDir& ProxyRunDir::operator=(ProxyRunDir&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    uid_ = o.uid_;
    gid_ = o.gid_;
    o.fd_ = -1;
  }
  return *this;
}

Result<int> ProxyRunDir::Parent(const std::string& rel, std::string* leaf) const {
  if (fd_ < 0) return Status::Unavailable("the proxy's run dir is not open");
  const std::string certs = std::string(kCertsDir) + "/";
  bool in_certs = rel.rfind(certs, 0) == 0;
  *leaf = in_certs ? rel.substr(certs.size()) : rel;
  if (!LeafOk(*leaf)) return Status::Invalid("not a name in the proxy's run dir: " + rel.substr(0, 80));
  if (!in_certs) return fd_;
  return OpenOwnedDir(fd_, kCertsDir, uid_, gid_);
}

Status ProxyRunDir::Write(const std::string& rel, const std::string& content, mode_t mode) const {
  std::string leaf;
  auto dir = Parent(rel, &leaf);
  if (!dir.ok()) return dir.status();
  const int d = *dir;
  auto done = [&](Status s) {
    if (d != fd_) close(d);
    return s;
  };
  const std::string tmp = leaf + ".tmp";
  if (unlinkat(d, tmp.c_str(), 0) != 0 && errno != ENOENT) return done(Status::Io(Err("remove " + rel + ".tmp")));
  int fd = openat(d, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return done(Status::Io(Err("create " + rel + ".tmp")));
  size_t off = 0;
  Status s;
  while (s.ok() && off < content.size()) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      s = Status::Io(Err("write " + rel + ".tmp"));
    } else {
      off += static_cast<size_t>(n);
    }
  }
  if (s.ok() && (fchown(fd, uid_, gid_) != 0 || fchmod(fd, mode) != 0)) s = Status::Io(Err("chown " + rel + ".tmp"));
  close(fd);
  if (s.ok() && renameat(d, tmp.c_str(), d, leaf.c_str()) != 0) s = Status::Io(Err("rename " + rel));
  if (!s.ok()) unlinkat(d, tmp.c_str(), 0);
  return done(s);
}

Status ProxyRunDir::Remove(const std::string& rel) const {
  std::string leaf;
  auto dir = Parent(rel, &leaf);
  if (!dir.ok()) return dir.status();
  Status s;
  if (unlinkat(*dir, leaf.c_str(), 0) != 0 && errno != ENOENT) s = Status::Io(Err("remove " + rel));
  if (*dir != fd_) close(*dir);
  return s;
}

bool ProxyRunDir::HasFile(const std::string& rel) const {
  std::string leaf;
  auto dir = Parent(rel, &leaf);
  if (!dir.ok()) return false;
  struct stat st {};
  bool file = fstatat(*dir, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
  if (*dir != fd_) close(*dir);
  return file;
}

Result<std::string> ProxyRunDir::MasterCommand(const std::string& cmd, int timeout_ms) const {
  if (fd_ < 0) return Status::Unavailable("the proxy's run dir is not open");
  const int64_t deadline = MonotonicMs() + timeout_ms;
  // 3. The socket itself, not what a link names.
  int path_fd = openat(fd_, kMasterSocket, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (path_fd < 0) {
    if (errno == ELOOP) return Status::Denied("master socket: a link, refused");
    return Status::Unavailable(Err("master socket"));
  }
  struct stat st {};
  if (fstat(path_fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    close(path_fd);
    return Status::Denied("master socket: not a socket, refused");
  }
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d", path_fd);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    close(path_fd);
    return Status::Io(Err("socket"));
  }
  // 4. Connect and send are bounded by the send timeout; the answer by poll.
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line = cmd + "\n";
  bool sent = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
              send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  std::string why = sent ? "" : Err("master socket");
  crypto::Wipe(line);
  close(path_fd);
  if (!sent) {
    close(fd);
    return Status::Unavailable(why);
  }
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    int64_t left = deadline - MonotonicMs();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      close(fd);
      return Status::Unavailable("master socket: no whole answer within " + std::to_string(timeout_ms) + " ms");
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxAnswerBytes) {
      close(fd);
      return Status::Invalid("master socket: an answer over " + std::to_string(kMaxAnswerBytes) + " bytes");
    }
  }
  close(fd);
  return out;
}

}  // namespace rv::strider
