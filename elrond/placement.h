// Placement: the pod-wide rules that decide where a job may run and which of
// the hosts that may run it is best. Pure functions over views, no I/O, in
// Nomad's order: feasibility (may this host take this job at all?) -> rank
// (how good is it under the job's strategy?) -> select (the best, plus a couple
// of runners-up to fall back on if the winner never acks).
//
// Feasibility returns the first rule a host breaks, so a job that no host can
// take gets an aggregate, human-readable reason ("no host: 3 lack RAM, 2 already
// run a replica of web (ha)") that sauron stores and `rv jobs` shows.
//
// Rules:
//   * a host that is down (lost, not reachable) or drained gets nothing new;
//   * rules.constraints must all equal the host's labels (e.g. role=build);
//   * rules.ha: never two replicas of one service on one host, counting awards
//     still in flight (HostView::services counts both);
//   * resources: RAM, disk and CPU must fit the host's *effective* free (see
//     ledger.h), never the raw bid;
//   * rules.spread_zones: among feasible hosts, only those in the zone(s) with
//     the fewest replicas of the service compete;
//   * strategy binpack picks the tightest fit (least RAM left after placing,
//     then disk, then CPU), spread the loosest (fewest replicas of the service
//     on the host first, then most RAM left). Ties break on the position in
//     the host list, which callers sort by host id, so a decision is
//     deterministic for the same inputs (and no strings are compared in the
//     hot loop).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/labels.h"
#include "common/msg/types.h"
#include "common/resources.h"

namespace rv::elrond {

enum class Strategy { kBinpack, kSpread };
// "binpack" | "spread"; anything else (including "") -> `fallback`.
Strategy ParseStrategy(const std::string& s, Strategy fallback);

// What elrond knows of one host when it places jobs.
struct HostView {
  std::string id;
  std::map<std::string, std::string> labels;
  std::string zone;                    // labels["zone"], "" if unset
  msg::Resources capacity;
  msg::Resources free;                 // effective free: ledger-adjusted, see ledger.h
  bool drained = false;
  bool up = false;                     // sauron says up and elrond can reach it
  std::unordered_map<std::string, int> services;  // service -> replicas placed or in flight here
};

// Replicas of each service per zone (placed or in flight), for spread_zones.
class ZoneCounts {
 public:
  int Get(const std::string& service, const std::string& zone) const;
  void Add(const std::string& service, const std::string& zone, int delta);

 private:
  std::unordered_map<std::string, std::unordered_map<std::string, int>> counts_;
};

enum class Verdict { kFits, kDown, kDrained, kConstraint, kHa, kRam, kDisk, kCpu, kDeclined, kNoBid };

// The first rule `host` breaks for `job`, or kFits. `detail` (optional) gets
// the specifics: the constraint that failed, the strider's decline reason...
Verdict CheckFeasible(const msg::JobSpec& job, const HostView& host, std::string* detail = nullptr);

// Counts why hosts were rejected for one job and renders the aggregate reason.
class RejectTally {
 public:
  void Add(Verdict v, const std::string& detail);
  // "no host: 3 lack RAM, 2 already run a replica of web (ha)"; most common first.
  std::string Summary(const msg::JobSpec& job) const;
  int total() const { return total_; }

 private:
  std::map<std::string, int> counts_;  // rendered phrase -> hosts
  int total_ = 0;
};

// One job's decision among `hosts` (sorted by id): the index of the best feasible host and up
// to two runners-up (-1 where none). `declined` (may be null) is parallel to
// `hosts`: a non-empty string is the strider's own reason for refusing this job.
// When nothing fits and `tally` is set, every rejection is recorded in it.
struct Choice {
  int best = -1;
  std::array<int, 2> fallback{-1, -1};
};
Choice Select(const msg::JobSpec& job, Strategy strategy, const std::vector<const HostView*>& hosts,
              const ZoneCounts& zones, const std::vector<const std::string*>* declined = nullptr,
              RejectTally* tally = nullptr);

// Orders jobs for one auction: biggest first (RAM, then disk, then CPU), ties
// by id, so the hardest jobs see the most room and the order is deterministic.
bool BiggerFirst(const msg::JobSpec& a, const msg::JobSpec& b);

}  // namespace rv::elrond
