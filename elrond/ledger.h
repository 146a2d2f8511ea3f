// Ledger: for every host, what elrond has promised that the host's own numbers
// may not show yet, so that auctions closing one after another (or a bid that
// left the host before an award arrived there) can never over-commit a host.
//
// Per host it keeps the capacity, the free resources of the newest bid, and
// the jobs committed to the host in sauron (awarded or placed, elrond's own
// awards included from the moment they are selected). Each committed job
// carries `reflected_from`: the first auction id whose bids already count it
// (0 for placements the host had before elrond started, kUnreflected until the
// host acked it; an award acked while auction N was the next to open is
// reflected from N on, because the host processed the award before the ack,
// and so before any announce sent after it). Then
//
//   effective free = min(bid free - committed jobs the bid does not reflect,
//                        capacity - all committed jobs)
//
// The first term protects against awards the host has not seen yet, the second
// against a host whose bids are stale or wrong. Bids are always clamped to
// what the ledger can account for. A lying strider is one whose bid has
// negative numbers, more free than its own capacity, more capacity than the
// operator's ceiling, or (in two bids in a row: one can be an honest race with
// a stop elrond has not heard of yet) more free than capacity minus the
// committed jobs it must reflect; the caller counts (`bid.lying`) and logs it.
//
// Not thread-safe: owned by the scheduler's single thread.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/msg/types.h"

namespace rv::elrond {

class Ledger {
 public:
  static constexpr int64_t kUnreflected = std::numeric_limits<int64_t>::max();

  struct BidCheck {
    bool stale = false;      // older than a bid already applied: view unchanged
    bool lying = false;      // clamped; `why` says what was wrong
    std::string why;
    msg::Resources free;     // as accepted (clamped)
  };

  // Capacity as sauron reports it (already clamped to max_capacity by sauron;
  // clamped again here) and the operator's ceiling (zero = none).
  void SetHost(const std::string& host, const msg::Resources& capacity, const msg::Resources& max_capacity);
  // Free as a heartbeat/hello reported it; used only until the first bid.
  void SetReportedFree(const std::string& host, const msg::Resources& free);
  void RemoveHost(const std::string& host);

  // A bid for `auction_id` (ids grow). Bids older than the newest applied one
  // leave the view alone (stale); others replace bid free and capacity.
  BidCheck ApplyBid(const std::string& host, int64_t auction_id, const msg::Resources& free,
                    const msg::Resources& capacity, int64_t now_ms);

  // `job` is committed on `host` (awarded or placed there).
  void Commit(const std::string& host, const std::string& job, const msg::Resources& r, int64_t reflected_from);
  // The host's bids count `job` from auction `from` on (keeps the earliest).
  void SetReflectedFrom(const std::string& host, const std::string& job, int64_t from);
  // `job` no longer holds resources on `host`.
  void Release(const std::string& host, const std::string& job, int64_t now_ms);

  msg::Resources EffectiveFree(const std::string& host) const;
  msg::Resources Capacity(const std::string& host) const;
  msg::Resources Committed(const std::string& host) const;
  bool HasBid(const std::string& host) const;

 private:
  struct Entry {
    msg::Resources res;
    int64_t reflected_from = 0;
  };
  struct Book {
    msg::Resources capacity, max_capacity, bid_free;
    int64_t last_bid = 0;  // auction id of the newest applied bid (0 = none)
    std::unordered_map<std::string, Entry> committed;
    msg::Resources committed_sum;
    std::vector<std::string> fresh;  // committed jobs with reflected_from > last_bid
    msg::Resources fresh_sum;
    bool overclaimed_last = false;   // the previous bid claimed more than the ledger allows
  };
  void Refresh(Book& b);   // rebuilds fresh/fresh_sum for b.last_bid

  std::unordered_map<std::string, Book> books_;
};

}  // namespace rv::elrond
