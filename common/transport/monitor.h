// ConnectionMonitor: the TCP connections under one ZeroMQ socket, by file
// descriptor, from libzmq's socket monitor.
//
// Why: a process killed with SIGKILL closes its sockets at once, and the peer's
// libzmq reports DISCONNECTED for that fd within a millisecond; that is far
// faster than any heartbeat timeout. The monitor records each connection's
// remote ("peer") and local endpoints, so a daemon can match an fd to the host
// that announced its own end of the connection (HostHello.conn_endpoint).
//
// Not thread-safe: poll it from the thread that owns the monitored socket.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace rv::transport {

struct ConnEvent {
  enum Kind { kConnected, kAccepted, kDisconnected, kHandshakeFailed, kOther } kind = kOther;
  int fd = -1;
  std::string local;   // "ip:port"
  std::string peer;    // "ip:port"
};

class ConnectionMonitor {
 public:
  // Starts monitoring `socket` (call before it binds or connects). Destroy
  // the monitor before the socket: it stops the monitoring first, as libzmq
  // asks before the reading end closes. (Without it, a test that closed
  // monitored sockets while their peer restarted found the context's I/O
  // thread blocked in a monitor event's zmq_msg_send: no socket of that
  // context connected again.)
  ConnectionMonitor(zmq::context_t& ctx, zmq::socket_t& socket);
  ~ConnectionMonitor();
  ConnectionMonitor(const ConnectionMonitor&) = delete;
  ConnectionMonitor& operator=(const ConnectionMonitor&) = delete;
  // The monitor's socket, for a zmq::poll item set.
  zmq::socket_t& socket() { return pair_; }
  // Reads one pending event without blocking. A connection's addresses are
  // empty if it had closed before its connect/accept event was read.
  std::optional<ConnEvent> Next();

 private:
  struct Raw {
    uint16_t id = 0;  // ZMQ_EVENT_*, 0 for a malformed frame
    int fd = -1;
  };
  // Moves one event from libzmq to queued_; false if none is waiting.
  bool Receive();

  void* socket_;  // the monitored socket
  zmq::socket_t pair_;
  std::deque<Raw> queued_;  // read from libzmq, not yet returned by Next
  std::map<int, std::pair<std::string, std::string>> open_;  // fd -> (local, peer)
};

std::string LocalEndpoint(int fd);
std::string PeerEndpoint(int fd);

}  // namespace rv::transport
