// Reservations: this host's own ledger of what it has promised, and the last
// guard against over-commit.
//
// Two kinds of entries:
//  * binding reservations, one per job this host has admitted (an award it
//    accepted, a job it runs). They last until the job is released.
//  * tentative holds, one per open auction this host bid in: while elrond
//    decides, the resources the bid offered are held so that a concurrent
//    auction sees less free and cannot be promised the same RAM twice. A hold
//    ends when that auction's award arrives or when it expires.
//
// free = base - binding - holds. Admit() refuses a job that does not fit in
// base - binding - (holds of *other* auctions), with a reason; the caller acks
// ok=false. Not thread-safe: owned by one agent.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/msg/types.h"
#include "common/resources.h"
#include "common/status.h"

namespace rv::strider {

class Reservations {
 public:
  struct Entry {
    std::string job_id;
    int64_t attempt = 0;
    std::string service;
    bool ha = false;
    msg::Resources resources;
    // A host port only this job's environment may use here (an env proxy's
    // ingress port, which is a hash of its env: two envs can collide), 0 = none.
    int port = 0;
    std::string port_owner;
  };
  // The entry for a job of `spec` (its port claim filled for a proxy job).
  static Entry For(const msg::JobSpec& spec, int64_t attempt);

  // Binding reservation for one job. `auction_id` names the auction whose hold
  // this award converts (0: none, e.g. a job sauron told us to keep). Refuses
  // (Conflict, with a reason) if the job does not fit, or if it is an HA
  // replica of a service this host already holds, or if it claims a port
  // another environment's job holds here. Re-admitting the same job id
  // replaces its entry (a newer attempt of a job we already hold).
  Status Admit(const Entry& e, const msg::Resources& base, int64_t auction_id = 0);
  void Release(const std::string& job_id);
  bool Has(const std::string& job_id) const { return binding_.count(job_id) != 0; }
  const Entry* Find(const std::string& job_id) const;

  void Hold(int64_t auction_id, const msg::Resources& r, int64_t expires_ms);
  void ReleaseHold(int64_t auction_id) { holds_.erase(auction_id); }
  // Drops holds whose deadline passed; returns how many.
  int ExpireHolds(int64_t now_ms);
  // When the first open hold expires; INT64_MAX without one.
  int64_t NextHoldExpiryMs() const;
  size_t open_holds() const { return holds_.size(); }

  msg::Resources Reserved() const;
  msg::Resources Held(int64_t except_auction = 0) const;
  // base - binding - holds (except `except_auction`).
  msg::Resources Free(const msg::Resources& base, int64_t except_auction = 0) const;
  // Services with a binding reservation here (for HA anti-affinity).
  std::set<std::string> Services() const;
  // Claimed host ports -> the environment that holds each.
  std::map<int, std::string> Ports() const;
  std::vector<Entry> Entries() const;

 private:
  struct HoldEntry {
    msg::Resources resources;
    int64_t expires_ms = 0;
  };
  std::map<std::string, Entry> binding_;
  std::map<int64_t, HoldEntry> holds_;
};

}  // namespace rv::strider
