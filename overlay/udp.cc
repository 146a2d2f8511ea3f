#include "overlay/udp.h"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rv::overlay {

sockaddr_in MakeSockaddr(uint32_t addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons(port);
  return sa;
}

Result<UdpSocket> UdpSocket::Open(uint32_t addr, uint16_t port, int rcv_timeout_ms, bool reuseport) {
  UdpSocket s;
  s.fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) return Status::Io(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuseport && setsockopt(s.fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
    return Status::Io(std::string("SO_REUSEPORT: ") + strerror(errno));
  // Large buffers absorb bursts of superpacket fragments; FORCE needs root, fall back.
  int buf = 8 << 20;
  if (setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
    setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  if (setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
    setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  timeval tv{rcv_timeout_ms / 1000, (rcv_timeout_ms % 1000) * 1000};
  setsockopt(s.fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  // Never let the kernel fragment our datagrams: we size them to the underlay MTU.
  int pmtu = IP_PMTUDISC_DO;
  setsockopt(s.fd_, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
  sockaddr_in sa = MakeSockaddr(addr, port);
  if (bind(s.fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0)
    return Status::Io("bind underlay " + std::to_string(port) + ": " + strerror(errno));
  s.gro_ = setsockopt(s.fd_, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
  int seg = 1400;
  s.gso_ = setsockopt(s.fd_, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg)) == 0;
  int zero = 0;
  setsockopt(s.fd_, IPPROTO_UDP, UDP_SEGMENT, &zero, sizeof(zero));  // per-message cmsg only
  return s;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace rv::overlay
