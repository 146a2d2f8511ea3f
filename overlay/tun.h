// Tun: one Linux TUN device opened with IFF_VNET_HDR (contract).
//
// Every read returns a 10-byte virtio_net_hdr followed by an IP packet; with
// offloads on (TUN_F_CSUM|TSO4|TSO6) the kernel hands over whole TCP GSO
// superpackets (up to ~64 KB) with a partial checksum instead of MTU-sized
// segments, so one read and one AEAD seal cover ~40 packets. Writes take the
// same format, so a superpacket sealed on one host is written unsegmented on
// the other and travels to the container as one GSO skb. The fd is
// non-blocking; the device is destroyed when the Tun is.
#pragma once

#include <string>

#include "common/status.h"

namespace rv::overlay {

inline constexpr size_t kVnetHdrSize = 10;

class Tun {
 public:
  static Result<Tun> Open(const std::string& name, bool offload);
  Tun(Tun&& o) noexcept : fd_(o.fd_), name_(std::move(o.name_)) { o.fd_ = -1; }
  Tun& operator=(Tun&& o) noexcept;
  ~Tun();
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

 private:
  Tun(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  int fd_ = -1;
  std::string name_;
};

}  // namespace rv::overlay
