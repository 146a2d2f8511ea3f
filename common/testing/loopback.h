// ListenLoopback(port): a TCP listener on 127.0.0.1 for tests that stand in
// for a server (an app behind a proxy, a proxy behind the edge). Header-only;
// the caller owns and closes the fd. Port 0 lets the kernel pick one.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace rv::testing {

// A TCP listener on 127.0.0.1:port (SO_REUSEADDR, so a test run right after
// another can bind its port again), or -1.
inline int ListenLoopback(int port, int backlog = 64) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, backlog) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace rv::testing
