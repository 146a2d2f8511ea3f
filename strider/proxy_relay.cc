#include "strider/proxy_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace rv::strider {

struct IngressRelay::Shared {
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  int port = 0;
  std::string source;
  int max_conns = 0;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> accepted{0};
  std::mutex mu;
  std::condition_variable cv;
  int threads = 0;          // accept thread + connection threads alive
  int conns = 0;
  std::string target_addr;  // "" = none yet
  int target_port = 0;
  std::atomic<bool> local_up{true};
  std::atomic<bool> local_accepts{false};  // the container accepts from listen_fd itself
  std::vector<std::pair<std::string, int>> fallbacks;
  std::atomic<int64_t> fell_back{0};
};

namespace {

bool Addr(const std::string& ip, int port, sockaddr_in* out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, ip.c_str(), &out->sin_addr) == 1;
}

// Connects from `source` (port chosen by the kernel) within timeout_ms; -1 on failure.
int ConnectFrom(const std::string& source, const std::string& ip, int port, const std::atomic<bool>& stop,
                int timeout_ms) {
  sockaddr_in src{}, dst{};
  if (!Addr(ip, port, &dst)) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (!source.empty()) {
    int one = 1;
    setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof one);
    if (!Addr(source, 0, &src) || bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      close(fd);
      return -1;
    }
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  for (int waited = 0; waited < timeout_ms && !stop; waited += 100) {
    pollfd p{fd, POLLOUT, 0};
    int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) break;
      return fd;
    }
  }
  close(fd);
  return -1;
}

// One direction's buffer.
struct Pipe {
  char buf[65536];
  size_t len = 0, off = 0;
  bool eof = false;      // the reading side closed
  bool shut = false;     // we shut the writing side down after eof
};

// The targets a connection may go to, in order: the local proxy container (if
// known and up), then the env's other proxies' ingress, unless the connection
// itself comes from one of those hosts (they already tried their container).
struct Candidate {
  std::string addr;
  int port = 0;
  bool local = false;  // the container on this host: connect from the gateway address
};
std::vector<Candidate> Candidates(const std::shared_ptr<IngressRelay::Shared>& s, int client) {
  std::vector<Candidate> out;
  std::vector<std::pair<std::string, int>> fallbacks;
  {
    std::lock_guard<std::mutex> l(s->mu);
    if (!s->target_addr.empty() && s->local_up) out.push_back({s->target_addr, s->target_port, true});
    fallbacks = s->fallbacks;
  }
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  char from[INET_ADDRSTRLEN] = "";
  if (getpeername(client, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
    inet_ntop(AF_INET, &peer.sin_addr, from, sizeof from);
  for (const auto& f : fallbacks)
    if (f.first == from) return out;
  for (const auto& f : fallbacks) out.push_back({f.first, f.second, false});
  return out;
}

// Until the proxy has sent its first byte, everything the client sent is kept
// (at most this much: a PROXY header and a TLS ClientHello fit many times), so
// that a proxy that dies or resets before answering (kill -9 between accept and
// the ServerHello, a full accept queue) costs nothing: the same bytes go to the
// next candidate, which sees a fresh connection.
constexpr size_t kReplayMax = 16384;

void Relay(const std::shared_ptr<IngressRelay::Shared>& s, int client) {
  const auto targets = Candidates(s, client);
  size_t next = 0;
  std::string replay;            // client bytes sent to the current target before its first byte
  bool answered = false;         // the current target has sent a byte: no more replays
  auto connect_next = [&]() -> int {
    for (; next < targets.size() && !s->stop; ++next) {
      const Candidate& t = targets[next];
      int fd = ConnectFrom(t.local ? s->source : "", t.addr, t.port, s->stop, t.local ? 1000 : 2000);
      if (fd < 0) continue;
      if (!t.local) ++s->fell_back;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      size_t off = 0;
      while (off < replay.size()) {  // a fresh socket's send buffer takes 16 KB at once
        ssize_t n = send(fd, replay.data() + off, replay.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      if (off < replay.size()) {
        close(fd);
        continue;
      }
      ++next;
      return fd;
    }
    return -1;
  };
  int up = connect_next();
  // Whether the current proxy may still be swapped for the next candidate.
  auto replayable = [&] { return !answered && replay.size() <= kReplayMax; };
  if (up >= 0) {
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto a = std::make_unique<Pipe>();  // client -> proxy
    auto b = std::make_unique<Pipe>();  // proxy -> client
    int fds[2] = {client, up};
    Pipe* dir[2] = {a.get(), b.get()};  // dir[i]: read from fds[i], write to fds[1-i]
    // The next candidate in place of the proxy, sent what the client sent so far.
    auto retarget = [&] {
      close(fds[1]);
      fds[1] = connect_next();
      return fds[1] >= 0;
    };
    while (!s->stop) {
      pollfd p[2] = {{fds[0], 0, 0}, {fds[1], 0, 0}};
      for (int i = 0; i < 2; ++i) {
        if (!dir[i]->eof && dir[i]->len == 0) p[i].events |= POLLIN;
        if (dir[i]->len > dir[i]->off) p[1 - i].events |= POLLOUT;
      }
      if (p[0].events == 0 && p[1].events == 0) break;  // both directions done
      int r = poll(p, 2, 200);
      if (r < 0 && errno != EINTR) break;
      if (r <= 0) continue;
      bool failed = false;
      for (int i = 0; i < 2 && !failed; ++i) {
        Pipe& d = *dir[i];
        bool fresh = false;  // just read: try the send now, not after another poll
        if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) && !d.eof && d.len == 0) {
          ssize_t n = read(fds[i], d.buf, sizeof d.buf);
          if (n > 0) {
            d.len = static_cast<size_t>(n);
            d.off = 0;
            fresh = true;
            if (i == 1) answered = true;
          } else if (n == 0) {
            d.eof = true;
          } else if (errno != EAGAIN && errno != EINTR) {
            failed = true;
          }
          // The proxy went away before its first byte: the next candidate
          // gets the same bytes, the client notices nothing.
          if (i == 1 && (d.eof || failed) && !a->eof && replayable()) {
            if (!retarget()) break;
            d.eof = false;
            failed = false;
            continue;
          }
        }
        if (d.len > d.off && (fresh || (p[1 - i].revents & (POLLOUT | POLLERR | POLLHUP)))) {
          ssize_t n = send(fds[1 - i], d.buf + d.off, d.len - d.off, MSG_NOSIGNAL | MSG_DONTWAIT);
          if (n > 0) {
            if (i == 0 && replayable()) replay.append(d.buf + d.off, static_cast<size_t>(n));
            d.off += static_cast<size_t>(n);
            if (d.off == d.len) d.len = d.off = 0;
          } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            failed = true;
            if (i == 0 && replayable()) {  // as above, on the sending side
              if (!retarget()) break;
              failed = false;
            }
          }
        }
        if (d.eof && d.len == 0 && !d.shut) {
          shutdown(fds[1 - i], SHUT_WR);
          d.shut = true;
        }
      }
      if (failed || fds[1] < 0) break;
      if (a->shut && b->shut) break;
    }
    if (fds[1] >= 0) close(fds[1]);
  }
  close(client);
  std::lock_guard<std::mutex> l(s->mu);
  --s->conns;
  --s->threads;
  s->cv.notify_all();
}

void AcceptLoop(const std::shared_ptr<IngressRelay::Shared>& s) {
  while (!s->stop) {
    // A container that accepts itself gets every connection while it is up;
    // while it is down the relay takes them only if it has somewhere to send
    // them (else they wait in the backlog for the container, not closed).
    bool mine = true;
    if (s->local_accepts) {
      std::lock_guard<std::mutex> l(s->mu);
      mine = !s->local_up && !s->fallbacks.empty();
    }
    pollfd p[2] = {{mine ? s->listen_fd : -1, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0) continue;
    if (p[1].revents) {  // stop, or the container came or went: look again
      char buf[64];
      while (read(s->wake[0], buf, sizeof buf) > 0) {
      }
      continue;
    }
    if (!(p[0].revents & POLLIN)) continue;
    int c = accept4(s->listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) continue;
    std::unique_lock<std::mutex> l(s->mu);
    if (s->conns >= s->max_conns || s->stop) {
      l.unlock();
      close(c);
      continue;
    }
    ++s->conns;
    ++s->threads;
    ++s->accepted;
    l.unlock();
    try {
      std::thread([s, c] { Relay(s, c); }).detach();
    } catch (const std::system_error&) {
      close(c);
      std::lock_guard<std::mutex> g(s->mu);
      --s->conns;
      --s->threads;
    }
  }
  std::lock_guard<std::mutex> l(s->mu);
  --s->threads;
  s->cv.notify_all();
}

}  // namespace

Result<std::unique_ptr<IngressRelay>> IngressRelay::Open(const std::string& listen_addr, int port,
                                                         std::string source_addr, int max_conns) {
  sockaddr_in a{};
  if (port <= 0 || port > 65535 || !Addr(listen_addr, port, &a))
    return Status::Invalid("ingress relay: bad listen address " + listen_addr + ":" + std::to_string(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Io(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 512) != 0) {
    std::string why = strerror(errno);
    close(fd);
    return Status::Io("ingress relay: cannot listen on " + listen_addr + ":" + std::to_string(port) + ": " + why);
  }
  return FromSocket(fd, std::move(source_addr), max_conns);
}

Result<std::unique_ptr<IngressRelay>> IngressRelay::FromSocket(int listen_fd, std::string source_addr,
                                                               int max_conns) {
  int listening = 0;
  socklen_t len = sizeof listening;
  sockaddr_in a{};
  socklen_t alen = sizeof a;
  if (getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening ||
      getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &alen) != 0 || a.sin_family != AF_INET) {
    close(listen_fd);
    return Status::Invalid("ingress relay: not a listening IPv4 TCP socket");
  }
  // Non-blocking: the relay polls before it accepts, and the container (which
  // shares this open file) may take the connection first.
  fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
  auto s = std::make_shared<Shared>();
  s->port = ntohs(a.sin_port);
  s->source = std::move(source_addr);
  s->max_conns = max_conns;
  s->listen_fd = listen_fd;
  if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(s->listen_fd);
    return Status::Io(std::string("pipe: ") + strerror(errno));
  }
  s->threads = 1;
  std::thread([s] { AcceptLoop(s); }).detach();
  return std::unique_ptr<IngressRelay>(new IngressRelay(s));
}

namespace {
// Makes the accept loop look again: a stop, or the container came or went.
void Wake(const std::shared_ptr<IngressRelay::Shared>& s) {
  char x = 1;
  (void)!write(s->wake[1], &x, 1);
}
}  // namespace

IngressRelay::~IngressRelay() {
  s_->stop = true;
  Wake(s_);
  std::unique_lock<std::mutex> l(s_->mu);
  s_->cv.wait(l, [this] { return s_->threads == 0; });
  l.unlock();
  close(s_->listen_fd);
  close(s_->wake[0]);
  close(s_->wake[1]);
}

void IngressRelay::SetTarget(const std::string& addr, int port) {
  std::lock_guard<std::mutex> l(s_->mu);
  s_->target_addr = addr;
  s_->target_port = port;
}

void IngressRelay::SetLocalUp(bool up) {
  if (s_->local_up.exchange(up) != up) Wake(s_);
}

void IngressRelay::SetLocalAccepts(bool accepts) {
  if (s_->local_accepts.exchange(accepts) != accepts) Wake(s_);
}

int IngressRelay::listen_fd() const { return s_->listen_fd; }

void IngressRelay::SetFallbacks(const std::vector<std::string>& endpoints) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& e : endpoints) {
    auto colon = e.rfind(':');
    if (colon == std::string::npos) continue;
    sockaddr_in a{};
    int port = atoi(e.c_str() + colon + 1);
    if (port <= 0 || port > 65535 || !Addr(e.substr(0, colon), port, &a)) continue;
    out.emplace_back(e.substr(0, colon), port);
  }
  bool changed;
  {
    std::lock_guard<std::mutex> l(s_->mu);
    changed = s_->fallbacks != out;
    s_->fallbacks = std::move(out);
  }
  if (changed) Wake(s_);
}

int64_t IngressRelay::fell_back() const { return s_->fell_back; }

int IngressRelay::port() const { return s_->port; }
int64_t IngressRelay::accepted() const { return s_->accepted; }
int IngressRelay::active() const {
  std::lock_guard<std::mutex> l(s_->mu);
  return s_->conns;
}

}  // namespace rv::strider
