// BatchDecider: the decision a closed auction makes for each job of its batch,
// from the bids it got. A pure step of the auction (as placement.h and
// sampling.h are): no I/O, no clock; the engine (auction.h) gathers the bids,
// applies each award before deciding the next job (an award changes the
// views and zone counts the next Select reads) and sends the messages.
//
// Contract, per job:
//  * The hosts that declined it (their reason), refused or never acked it
//    before (`avoid`), or, in a partitioned auction, were not offered it are
//    masked; Select (placement.h) picks the best of the others.
//  * If only hosts not offered the job could take it, the offer is widened to
//    every bidder (JobDecision::widened): cheaper than another auction, and
//    elrond checks every rule while the host re-checks fit when it claims.
//  * Nothing fits: the reason tallies every bidder's rejection plus one "no
//    bid" per host that did not answer, and names the sample's size when the
//    auction was sampled.
// Not thread-safe (scratch space reused between jobs); one per auction.
#pragma once

#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/msg/types.h"
#include "elrond/placement.h"

namespace rv::elrond {

struct AuctionBids {
  std::vector<std::string> hosts;           // the bidders, sorted
  std::vector<const HostView*> views;       // their views, refreshed by their bids
  // job id -> (bidder index, the bidder's reason for declining it)
  std::unordered_map<std::string, std::vector<std::pair<size_t, const std::string*>>> declines;
};

struct BatchJob {
  const std::string* id = nullptr;
  const msg::JobSpec* spec = nullptr;
  const std::set<std::string>* avoid = nullptr;   // hosts that refused it or never acked it
  const std::vector<std::string>* offered = nullptr;  // partitioned: the hosts offered it (null: none)
};

struct JobDecision {
  int best = -1;                        // bidder index, -1: nothing fits
  std::vector<std::string> fallbacks;   // next choices if the winner refuses
  bool widened = false;                 // won by a bidder it was not offered to
  std::string unplaceable_reason;       // best < 0: why
};

class BatchDecider {
 public:
  // `partitioned`: each job was offered to some bidders only (BatchJob::offered).
  // `sampled_hosts` > 0: the auction addressed a sample of this many hosts.
  BatchDecider(const AuctionBids& bids, Strategy default_strategy, bool partitioned, size_t missing_bids,
               size_t sampled_hosts);

  JobDecision Decide(const BatchJob& job, const ZoneCounts& zones);

 private:
  size_t BidderIndex(const std::string& host) const;

  const AuctionBids& bids_;
  Strategy default_strategy_;
  bool partitioned_;
  size_t missing_;
  size_t sampled_hosts_;
  std::vector<const std::string*> declined_;  // per bidder: why it may not take the job now
  std::vector<char> offered_here_;
  std::vector<size_t> not_offered_;
};

}  // namespace rv::elrond
