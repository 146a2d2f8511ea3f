// UdpSocket: the underlay socket of one overlayd (contract). Bound to the
// host's underlay endpoint, blocking (send back-pressure comes from the
// socket buffer), with a receive timeout so the receive worker can notice
// shutdown and configuration changes. It turns on UDP_GRO, so one recvmmsg
// slot may hold many same-sized datagrams coalesced by the kernel (the
// segment size arrives in a cmsg), and probes UDP_SEGMENT, so a fragmented
// message leaves in one sendmsg that the kernel (or NIC) splits.
#pragma once

#include <netinet/in.h>

#include <cstdint>

#include "common/status.h"

// Older libc headers lack these socket options (the kernel has them).
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace rv::overlay {

class UdpSocket {
 public:
  // reuseport: join the SO_REUSEPORT group on addr:port (one socket per lane).
  static Result<UdpSocket> Open(uint32_t addr, uint16_t port, int rcv_timeout_ms, bool reuseport = false);
  UdpSocket(UdpSocket&& o) noexcept : fd_(o.fd_), gso_(o.gso_), gro_(o.gro_) { o.fd_ = -1; }
  UdpSocket& operator=(UdpSocket&&) = delete;
  ~UdpSocket();
  int fd() const { return fd_; }
  bool gso() const { return gso_; }
  bool gro() const { return gro_; }
  void DisableGso() { gso_ = false; }

 private:
  UdpSocket() = default;
  int fd_ = -1;
  bool gso_ = false;
  bool gro_ = false;
};

sockaddr_in MakeSockaddr(uint32_t addr, uint16_t port);

}  // namespace rv::overlay
