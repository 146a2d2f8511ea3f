#include "common/transport/curve.h"

#include <sys/resource.h>

#include <algorithm>

namespace rv::transport {

void MakeCurveServer(zmq::socket_t& socket, const CurveKeypair& mine) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, mine.secret_key);
  socket.set(zmq::sockopt::zap_domain, "rivendell");
}

void MakeCurveClient(zmq::socket_t& socket, const CurveKeypair& mine, const std::string& server_public_key) {
  socket.set(zmq::sockopt::curve_serverkey, server_public_key);
  socket.set(zmq::sockopt::curve_publickey, mine.public_key);
  socket.set(zmq::sockopt::curve_secretkey, mine.secret_key);
}

void SetHeartbeat(zmq::socket_t& socket, int interval_ms, int timeout_ms) {
  socket.set(zmq::sockopt::heartbeat_ivl, interval_ms);
  socket.set(zmq::sockopt::heartbeat_timeout, timeout_ms);
}

void SetTcpKeepalive(zmq::socket_t& socket, int idle_s) {
  idle_s = std::max(idle_s, 3);
  socket.set(zmq::sockopt::tcp_keepalive, 1);
  socket.set(zmq::sockopt::tcp_keepalive_idle, idle_s);
  socket.set(zmq::sockopt::tcp_keepalive_intvl, idle_s / 3);
  socket.set(zmq::sockopt::tcp_keepalive_cnt, 3);
}

void SetDefaults(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 100000);
  socket.set(zmq::sockopt::rcvhwm, 100000);
  socket.set(zmq::sockopt::reconnect_ivl, 50);
  socket.set(zmq::sockopt::reconnect_ivl_max, 2000);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(16 << 20) + 1024);
}

zmq::context_t MakeContext(int io_threads, int max_sockets) {
  // Each socket costs file descriptors; raise the soft limit as far as allowed.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  zmq::context_t ctx(io_threads, max_sockets);
  return ctx;
}

bool TryRecv(zmq::socket_t& socket, zmq::message_t* m) {
  try {
    return socket.recv(*m, zmq::recv_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

}  // namespace rv::transport
