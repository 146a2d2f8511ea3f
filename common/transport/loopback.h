// Sockets on 127.0.0.1 with a port the kernel picks, for tests and the
// benchmarks (one helper instead of the same bind/getsockname lines in each).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rv::transport {

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM, with flags) bound to
// 127.0.0.1:0; sets *port to the port it got. Returns the fd, or -1.
inline int BindLoopback(int type, int* port) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// A TCP port on 127.0.0.1 that was free a moment ago (the socket is closed,
// so another process could take it first; fine for loopback test pods).
inline int FreeLoopbackPort() {
  int port = 0;
  int fd = BindLoopback(SOCK_STREAM, &port);
  if (fd >= 0) close(fd);
  return port;
}

}  // namespace rv::transport
