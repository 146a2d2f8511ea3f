#include "overlay/control_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace rv::overlay {
namespace {

constexpr size_t kMaxRequest = 16 << 20;

bool MakeAddr(const std::string& path, sockaddr_un* sa) {
  if (path.empty() || path.size() >= sizeof(sa->sun_path)) return false;
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path.c_str(), path.size());
  return true;
}

void SetTimeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += size_t(n);
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<ControlSocket>> ControlSocket::Listen(const std::string& path, Handler h) {
  sockaddr_un sa;
  if (!MakeAddr(path, &sa)) return Status::Invalid("bad socket path");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Io("socket failed");
  unlink(path.c_str());
  mode_t old = umask(077);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  umask(old);
  if (rc < 0 || listen(fd, 16) < 0) {
    int e = errno;
    close(fd);
    return Status::Io("bind " + path + ": " + strerror(e));
  }
  std::unique_ptr<ControlSocket> cs(new ControlSocket(fd, path, std::move(h)));
  cs->th_ = std::thread([p = cs.get()] { p->Loop(); });
  return cs;
}

ControlSocket::~ControlSocket() {
  stop_ = true;
  if (th_.joinable()) th_.join();
  close(fd_);
  unlink(path_.c_str());
}

void ControlSocket::Loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    SetTimeout(c, 2000);
    std::string req;
    char buf[65536];
    bool ok = true;
    while (true) {
      ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n == 0) break;
      if (n < 0 || req.size() + size_t(n) > kMaxRequest) {
        ok = false;
        break;
      }
      req.append(buf, size_t(n));
      // "stats" needs no body: answer as soon as the line is complete.
      if (req.rfind("stats\n", 0) == 0 || req.rfind("keepalive\n", 0) == 0) break;
    }
    if (ok) {
      auto nl = req.find('\n');
      std::string cmd = req.substr(0, nl), body = nl == std::string::npos ? "" : req.substr(nl + 1);
      WriteAll(c, h_(cmd, body) + "\n");
    }
    close(c);
  }
}

Result<std::string> ControlRequest(const std::string& path, const std::string& cmd,
                                   const std::string& body, int timeout_ms) {
  sockaddr_un sa;
  if (!MakeAddr(path, &sa)) return Status::Invalid("bad socket path");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Io("socket failed");
  SetTimeout(fd, timeout_ms);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    int e = errno;
    close(fd);
    return Status::Unavailable("connect " + path + ": " + strerror(e));
  }
  if (!WriteAll(fd, cmd + "\n" + body)) {
    close(fd);
    return Status::Io("send failed");
  }
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, size_t(n));
  close(fd);
  if (n < 0) return Status::Io("no reply from overlayd");
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace rv::overlay
