#include "elrond/batch_decision.h"

#include <algorithm>

namespace rv::elrond {
namespace {

const std::string kAvoid = "refused or did not ack this job before";
const std::string kNotOffered = "not offered this job in the auction";

}  // namespace

BatchDecider::BatchDecider(const AuctionBids& bids, Strategy default_strategy, bool partitioned, size_t missing_bids,
                           size_t sampled_hosts)
    : bids_(bids),
      default_strategy_(default_strategy),
      partitioned_(partitioned),
      missing_(missing_bids),
      sampled_hosts_(sampled_hosts),
      declined_(bids.hosts.size(), nullptr) {}

size_t BatchDecider::BidderIndex(const std::string& h) const {
  const auto& b = bids_.hosts;
  auto pos = std::lower_bound(b.begin(), b.end(), h);
  return pos != b.end() && *pos == h ? static_cast<size_t>(pos - b.begin()) : b.size();
}

JobDecision BatchDecider::Decide(const BatchJob& job, const ZoneCounts& zones) {
  const size_t n = bids_.hosts.size();
  auto dit = bids_.declines.find(*job.id);
  if (dit != bids_.declines.end()) {
    for (auto& [i, why] : dit->second) declined_[i] = why;
  }
  if (job.avoid) {
    for (const auto& h : *job.avoid) {
      if (size_t i = BidderIndex(h); i < n) declined_[i] = &kAvoid;
    }
  }
  not_offered_.clear();
  if (partitioned_) {  // only the hosts offered this job may take it
    offered_here_.assign(n, 0);
    if (job.offered) {
      for (const auto& h : *job.offered) {
        if (size_t i = BidderIndex(h); i < n) offered_here_[i] = 1;
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (offered_here_[i] || declined_[i]) continue;
      declined_[i] = &kNotOffered;
      not_offered_.push_back(i);
    }
  }
  JobDecision d;
  const msg::JobSpec& spec = *job.spec;
  Strategy strategy = ParseStrategy(spec.strategy, default_strategy_);
  Choice c = Select(spec, strategy, bids_.views, zones, &declined_);
  if (c.best < 0 && !not_offered_.empty()) {
    for (size_t i : not_offered_) declined_[i] = nullptr;
    not_offered_.clear();
    c = Select(spec, strategy, bids_.views, zones, &declined_);
    d.widened = c.best >= 0;
  }
  if (c.best >= 0) {
    d.best = c.best;
    for (int f : c.fallback) {
      if (f >= 0) d.fallbacks.push_back(bids_.hosts[f]);
    }
  } else {
    RejectTally tally;
    Select(spec, strategy, bids_.views, zones, &declined_, &tally);
    for (size_t k = 0; k < missing_; ++k) tally.Add(Verdict::kNoBid, "");
    d.unplaceable_reason = tally.Summary(spec);
    if (sampled_hosts_ > 0) d.unplaceable_reason += " (of " + std::to_string(sampled_hosts_) + " sampled hosts)";
  }
  // Leave the scratch clean for the next job.
  for (size_t i : not_offered_) declined_[i] = nullptr;
  if (dit != bids_.declines.end()) {
    for (auto& [i, why] : dit->second) declined_[i] = nullptr;
  }
  if (job.avoid) {
    for (const auto& h : *job.avoid) {
      if (size_t i = BidderIndex(h); i < n) declined_[i] = nullptr;
    }
  }
  return d;
}

}  // namespace rv::elrond
