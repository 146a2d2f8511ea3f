// Ipam: overlay address management for sauron (pure logic, no I/O). Contract:
//
//  * The pod range (e.g. 10.250.0.0/16) is cut into equal per-environment
//    subnets (e.g. /24); AllocateSubnet(env) gives each environment one,
//    idempotently. Subnets of deleted environments are quarantined like
//    addresses before another environment may get them.
//  * AllocateAddress(env, container) gives a container an address in its
//    environment's subnet, idempotently per container id. The network and
//    broadcast addresses are never handed out.
//  * Release(env, container, now) puts the address in quarantine for
//    quarantine_ms: a peer that still has the old route (or a late packet) must
//    never reach a new container that inherited the address. Allocation prefers
//    never-used addresses, then the longest-quarantined expired ones.
//  * Records()/Restore() export and re-import the full state so sauron can keep
//    it in SQLite and survive restarts without handing an address out twice.
// Not thread-safe: sauron serializes calls (it is the only writer).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "overlay/addr.h"

namespace rv::overlay {

class Ipam {
 public:
  struct Record {               // one persisted row
    std::string kind;           // "subnet" | "addr"
    uint32_t env_id = 0;
    std::string owner;          // container id for "addr", "" for "subnet"
    uint32_t addr = 0;          // subnet network address or container address
    int64_t released_ms = -1;   // -1: in use; else quarantined since then
  };

  // pod: the whole overlay range; env_prefix_len: size of each env subnet.
  static Result<Ipam> Create(const std::string& pod_cidr, int env_prefix_len,
                             int64_t quarantine_ms);

  Result<Prefix> AllocateSubnet(uint32_t env_id, int64_t now_ms);
  Result<Prefix> SubnetOf(uint32_t env_id) const;
  // The environment must hold no live addresses.
  Status ReleaseSubnet(uint32_t env_id, int64_t now_ms);

  Result<uint32_t> AllocateAddress(uint32_t env_id, const std::string& container_id, int64_t now_ms);
  Status ReleaseAddress(uint32_t env_id, const std::string& container_id, int64_t now_ms);
  // Which container holds `addr` now ("" if none).
  std::string OwnerOf(uint32_t env_id, uint32_t addr) const;

  std::vector<Record> Records() const;
  Status Restore(const std::vector<Record>& records);

 private:
  Ipam(Prefix pod, int env_len, int64_t q) : pod_(pod), env_len_(env_len), quarantine_ms_(q) {}

  struct Env {
    Prefix subnet;
    std::map<std::string, uint32_t> by_owner;   // live
    std::map<uint32_t, std::string> by_addr;    // live
    std::map<uint32_t, int64_t> quarantine;     // addr -> released at
    uint32_t next = 0;                          // next never-used host offset
  };

  Prefix pod_;
  int env_len_;
  int64_t quarantine_ms_;
  std::map<uint32_t, Env> envs_;
  std::map<uint32_t, uint32_t> subnet_owner_;     // subnet addr -> env
  std::map<uint32_t, int64_t> subnet_quarantine_; // subnet addr -> released at
  uint64_t next_subnet_ = 0;
};

}  // namespace rv::overlay
