// Snapshot: everything the two datapath workers need to forward a packet,
// built by the control thread from a ControlConfig and published whole
// (contract). Workers pick up a new snapshot at the start of a batch, so a
// route change (a container moved to another host) is live for the next
// packet after Apply returns, without locks on the per-packet path. A
// snapshot is immutable; keys live in shared Aead objects that are wiped when
// the last snapshot using them is dropped.
//
// Routing is cryptokey routing as in WireGuard's allowedips: an env's table
// maps overlay address -> host; outbound, the destination picks the peer;
// inbound, the source must map to the host that sealed the packet.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "overlay/addr.h"
#include "overlay/aead.h"

namespace rv::overlay {

struct EnvState {
  uint32_t id = 0;
  Prefix subnet;
  std::vector<int> tun_fds;                        // one TUN queue per lane; empty: no TUN
  uint32_t send_epoch = 0;
  std::shared_ptr<const Aead> send;                // null: no key yet, drop
  uint32_t epochs[2] = {0, 0};
  std::shared_ptr<const Aead> keys[2];
  std::unordered_map<uint32_t, uint32_t> routes;   // overlay addr -> host id
  std::unordered_set<uint32_t> local;              // addresses attached on this host

  const Aead* KeyFor(uint32_t epoch) const {
    for (int i = 0; i < 2; i++)
      if (keys[i] && epochs[i] == epoch) return keys[i].get();
    return nullptr;
  }
  // 0 if unknown.
  uint32_t HostOf(uint32_t addr) const {
    auto it = routes.find(addr);
    return it == routes.end() ? 0 : it->second;
  }
};

struct Snapshot {
  uint32_t host_id = 0;
  size_t max_datagram = 1472;  // UDP payload that fits the underlay MTU
  std::unordered_map<uint32_t, EnvState> envs;
  std::unordered_map<int, uint32_t> env_by_fd;
  std::unordered_map<uint32_t, sockaddr_in> peers;  // host id -> underlay endpoint
};

}  // namespace rv::overlay
