// Tun: one Linux TUN device opened with IFF_VNET_HDR (contract).
//
// Every read returns a 10-byte virtio_net_hdr followed by an IP packet; with
// offloads on (TUN_F_CSUM|TSO4|TSO6) the kernel hands over whole TCP GSO
// superpackets (up to ~64 KB) with a partial checksum instead of MTU-sized
// segments, so one read and one AEAD seal cover ~40 packets. Writes take the
// same format, so a superpacket sealed on one host is written unsegmented on
// the other and travels to the container as one GSO skb. The fds are
// non-blocking; the device is destroyed when the Tun is.
//
// With queues > 1 the device is multiqueue (IFF_MULTI_QUEUE): one fd per
// queue, each read and written by one lane of overlayd (a steering program,
// overlay/steering.h, picks the queue of each packet the kernel sends).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace rv::overlay {

inline constexpr size_t kVnetHdrSize = 10;

class Tun {
 public:
  static Result<Tun> Open(const std::string& name, bool offload, int queues = 1);
  Tun(Tun&& o) noexcept : fds_(std::move(o.fds_)), name_(std::move(o.name_)) { o.fds_.clear(); }
  Tun& operator=(Tun&& o) noexcept;
  ~Tun();

  int fd() const { return fds_[0]; }
  int queue_fd(int q) const { return fds_[size_t(q)]; }
  int queues() const { return int(fds_.size()); }
  const std::string& name() const { return name_; }

 private:
  Tun(std::vector<int> fds, std::string name) : fds_(std::move(fds)), name_(std::move(name)) {}
  void Close();
  std::vector<int> fds_;
  std::string name_;
};

}  // namespace rv::overlay
