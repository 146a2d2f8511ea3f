// Bidder: the pure decision a host makes when elrond announces a batch of jobs.
//
// Input: what the host can see of itself (capacity, free after its own
// reservations and other open holds, its labels, the services it runs or has
// reserved). Output: one bid for the whole batch: a score in 0..1 (the mean of
// the free RAM and free disk fractions: higher = more room, elrond packs low
// scores first under binpack and high under spread), the jobs it declines with
// the rule each breaks, and the resources to hold tentatively while the
// auction is open (the sum of the jobs it did not decline, capped at free).
//
// A strider declines only what breaks a rule it can check itself; pod-wide
// rules (zone spread, drained hosts, choosing between replicas) are elrond's.
// A job that merely does not fit the host's free resources is not listed as a
// decline: the bid carries `free`, against which elrond checks every job
// anyway. Listing them made a full host's bid one reason string per job of
// the batch (512 by default), which at pod scale cost more to build, send and
// read than the whole auction. Such a job is still left out of the hold.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/msg/protocol.h"

namespace rv::strider {

struct BidderView {
  msg::Resources capacity;
  msg::Resources free;                          // after reservations and other holds
  std::map<std::string, std::string> labels;    // from sauron's HostWelcome
  std::set<std::string> services;               // run or reserved here
  std::map<int, std::string> ports;             // host ports claimed here -> their env (proxy ingress)
  bool containers = true;                       // a container runtime is open here
  std::string no_containers_why;                // why not (for the decline reason)
  bool aesni = true;                            // AES-256-GCM runs here (HostHello.aesni)
  bool builds = true;                           // build jobs run here (a builder, not --no-builds)
  std::string no_builds_why;
};

struct BidDecision {
  double score = 0;
  std::vector<msg::Decline> declines;
  msg::Resources hold;
};

double Score(const msg::Resources& free, const msg::Resources& capacity);

// Why this host will not take `job`, or nullopt if it can.
std::optional<std::string> DeclineReason(const BidderView& view, const msg::AnnouncedJob& job);
// The same, for the rules only (no resource fit): what a bid lists.
std::optional<std::string> RuleDeclineReason(const BidderView& view, const msg::AnnouncedJob& job);

BidDecision DecideBid(const BidderView& view, const std::vector<msg::AnnouncedJob>& jobs);

}  // namespace rv::strider
