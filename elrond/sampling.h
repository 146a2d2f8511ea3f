// Sampling: which hosts one auction addresses, and which of them each job of
// the batch is offered to. Pure steps of the auction (as placement.h is for
// the choice among bids): no I/O, no clock, randomness passed in; the engine
// (auction.h) gathers the inputs from its views and sends the messages.
//
// Contract:
//  * ChooseSample returns distinct host ids from `idle`: first the hosts whose
//    cached view may take a job of the batch (labels match one of the
//    batch's constraint sets, RAM for its smallest job), reachable and not
//    slow first, tightest first for binpack and roomiest first for spread,
//    until there are `sample_hosts` of them, RAM for 1.5x the batch's demand
//    and as many hosts as its largest HA group; then `extra` random others
//    (a stale view of a full host is refreshed by its bid).
//  * PartitionBatch gives each job a primary chosen as the strategy would
//    (first fit in the sample's order for binpack, most room for spread; never
//    two replicas of one HA service), plus offers_per_job - 1 stand-ins, and
//    every host at least the smallest job. Returns job indices per host.
// Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/msg/types.h"
#include "elrond/placement.h"

namespace rv::elrond {

struct SampleHost {
  const HostView* view = nullptr;
  bool reachable = true;  // false after a send to it failed
  bool slow = false;      // missed a recent bid deadline
};

struct SampleOptions {
  size_t sample_hosts = 0;  // hosts that may take a job, at least
  size_t extra = 0;         // random others on top
  Strategy strategy = Strategy::kBinpack;
};

std::vector<std::string> ChooseSample(const std::vector<const msg::JobSpec*>& batch,
                                      const std::vector<SampleHost>& idle, const SampleOptions& opts,
                                      std::mt19937& rng);

std::vector<std::vector<size_t>> PartitionBatch(const std::vector<const msg::JobSpec*>& batch,
                                                const std::vector<const HostView*>& hosts, int offers_per_job,
                                                Strategy default_strategy);

}  // namespace rv::elrond
