#include "strider/ingress_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rv::strider {

Result<int> TakeListeningSocket(pid_t pid, int fd, const std::string& addr, int port) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return Status::NotFound("pidfd_open " + std::to_string(pid) + ": " + strerror(errno));
  int got = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  int err = errno;
  close(pidfd);
  if (got < 0) return Status::NotFound("pidfd_getfd " + std::to_string(pid) + "/" + std::to_string(fd) + ": " + strerror(err));
  int listening = 0;
  socklen_t len = sizeof listening;
  sockaddr_in a{};
  socklen_t alen = sizeof a;
  char ip[INET_ADDRSTRLEN] = "";
  std::string why;
  if (getsockopt(got, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
    why = "not a listening socket";
  } else if (getsockname(got, reinterpret_cast<sockaddr*>(&a), &alen) != 0 || a.sin_family != AF_INET ||
             !inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip)) {
    why = "not an IPv4 socket";
  } else if (ntohs(a.sin_port) != port || (!addr.empty() && addr != ip)) {
    why = std::string("bound to ") + ip + ":" + std::to_string(ntohs(a.sin_port)) + ", not " +
          (addr.empty() ? "*" : addr) + ":" + std::to_string(port);
  }
  if (!why.empty()) {
    close(got);
    return Status::Invalid("fd " + std::to_string(fd) + " of " + std::to_string(pid) + ": " + why);
  }
  return got;
}

}  // namespace rv::strider
