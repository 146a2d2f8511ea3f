#include "common/transport/monitor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace rv::transport {
namespace {

std::string Format(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
    // Appended, not "[" + std::string(host): GCC 12 warns falsely (-Wrestrict) on that.
    std::string out = "[";
    out += host;
    out += "]:";
    out += std::to_string(ntohs(in->sin6_port));
    return out;
  }
  return "";
}

std::atomic<int> g_monitor_seq{0};

}  // namespace

std::string LocalEndpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return Format(ss);
}

std::string PeerEndpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return Format(ss);
}

ConnectionMonitor::ConnectionMonitor(zmq::context_t& ctx, zmq::socket_t& socket)
    : socket_(socket.handle()), pair_(ctx, zmq::socket_type::pair) {
  std::string addr = "inproc://rv-monitor-" + std::to_string(g_monitor_seq++);
  int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
  if (zmq_socket_monitor(socket.handle(), addr.c_str(), events) != 0) throw zmq::error_t();
  pair_.set(zmq::sockopt::linger, 0);
  pair_.connect(addr);
}

ConnectionMonitor::~ConnectionMonitor() {
  // Stopped under the socket's monitor lock, so no event is sent after this to
  // the pair about to close.
  zmq_socket_monitor(socket_, nullptr, 0);
}

bool ConnectionMonitor::Receive() {
  zmq::message_t head, addr;
  if (!pair_.recv(head, zmq::recv_flags::dontwait)) return false;
  if (head.more()) (void)pair_.recv(addr, zmq::recv_flags::none);
  Raw raw;
  if (head.size() >= 6) {
    uint32_t value;
    std::memcpy(&raw.id, head.data(), 2);
    std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
    raw.fd = static_cast<int>(value);
  }
  queued_.push_back(raw);
  return true;
}

std::optional<ConnEvent> ConnectionMonitor::Next() {
  while (Receive()) {
  }
  if (queued_.empty()) return std::nullopt;
  Raw raw = queued_.front();
  queued_.pop_front();
  ConnEvent ev;
  ev.fd = raw.fd;
  switch (raw.id) {
    case ZMQ_EVENT_CONNECTED:
    case ZMQ_EVENT_ACCEPTED: {
      ev.kind = raw.id == ZMQ_EVENT_CONNECTED ? ConnEvent::kConnected : ConnEvent::kAccepted;
      // libzmq queues a connection's DISCONNECTED before it closes the fd.
      // Read late (a busy loop, a short-lived peer), an accept may already
      // have its disconnect queued behind it: then the fd is closed or is
      // some newer connection's, and asking it for addresses would give a
      // wrong peer. Unknown is the honest answer.
      bool gone = std::any_of(queued_.begin(), queued_.end(), [&](const Raw& r) {
        return r.id == ZMQ_EVENT_DISCONNECTED && r.fd == raw.fd;
      });
      if (!gone) {
        ev.local = LocalEndpoint(ev.fd);
        ev.peer = PeerEndpoint(ev.fd);
      }
      open_[ev.fd] = {ev.local, ev.peer};
      break;
    }
    case ZMQ_EVENT_DISCONNECTED: {
      ev.kind = ConnEvent::kDisconnected;
      auto it = open_.find(ev.fd);
      if (it != open_.end()) {
        ev.local = it->second.first;
        ev.peer = it->second.second;
        open_.erase(it);
      }
      break;
    }
    case 0:  // a malformed event frame
      return ConnEvent{};
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      ev.kind = ConnEvent::kHandshakeFailed;
      break;
    default:
      break;
  }
  return ev;
}

}  // namespace rv::transport
