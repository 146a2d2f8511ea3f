#include "elrond/sampling.h"

#include <algorithm>
#include <climits>
#include <map>
#include <numeric>
#include <set>

#include "common/labels.h"

namespace rv::elrond {

std::vector<std::string> ChooseSample(const std::vector<const msg::JobSpec*>& batch,
                                      const std::vector<SampleHost>& idle, const SampleOptions& opts,
                                      std::mt19937& rng) {
  int64_t min_ram = INT64_MAX, demand = 0;
  bool unconstrained = false;
  std::vector<const Labels*> constraint_sets;
  std::map<std::string, int> ha_replicas;
  int max_ha = 0;
  for (const msg::JobSpec* j : batch) {
    min_ram = std::min(min_ram, j->resources.ram_mb);
    demand += j->resources.ram_mb;
    if (j->rules.constraints.empty()) {
      unconstrained = true;
    } else if (constraint_sets.size() < 8 &&
               std::none_of(constraint_sets.begin(), constraint_sets.end(),
                            [&](const Labels* c) { return *c == j->rules.constraints; })) {
      constraint_sets.push_back(&j->rules.constraints);
    }
    if (j->rules.ha) max_ha = std::max(max_ha, ++ha_replicas[j->service]);
  }
  if (constraint_sets.size() >= 8) unconstrained = true;  // too varied to filter on; let bids decide
  auto matches = [&](const HostView& v) {
    if (unconstrained) return true;
    return std::any_of(constraint_sets.begin(), constraint_sets.end(),
                       [&](const Labels* c) { return Matches(v.labels, *c); });
  };
  std::vector<const SampleHost*> fit, rest;
  for (const SampleHost& h : idle) {
    if (matches(*h.view) && h.view->free.ram_mb >= min_ram) fit.push_back(&h);
    else rest.push_back(&h);
  }
  // The hosts the strategy would pick from anyway: tightest first for binpack,
  // roomiest first for spread. Reachable hosts before ones a send failed to.
  bool binpack = opts.strategy == Strategy::kBinpack;
  std::sort(fit.begin(), fit.end(), [&](const SampleHost* a, const SampleHost* b) {
    if (a->reachable != b->reachable) return a->reachable;
    if (a->slow != b->slow) return !a->slow;
    int64_t fa = a->view->free.ram_mb, fb = b->view->free.ram_mb;
    if (fa != fb) return binpack ? fa < fb : fa > fb;
    return a->view->id < b->view->id;
  });
  std::vector<std::string> out;
  int64_t room = 0;
  size_t i = 0;
  // Enough hosts, enough room for the batch with headroom (bids are fresher
  // than our views), and enough distinct hosts for the largest HA group.
  for (; i < fit.size(); ++i) {
    if (out.size() >= opts.sample_hosts && room >= demand + demand / 2 && out.size() >= static_cast<size_t>(max_ha)) {
      break;
    }
    out.push_back(fit[i]->view->id);
    room += std::max<int64_t>(0, fit[i]->view->free.ram_mb);
  }
  for (; i < fit.size(); ++i) rest.push_back(fit[i]);
  for (size_t k = 0; k < opts.extra && !rest.empty(); ++k) {
    std::uniform_int_distribution<size_t> pick(0, rest.size() - 1);
    size_t r = pick(rng);
    out.push_back(rest[r]->view->id);
    rest[r] = rest.back();
    rest.pop_back();
  }
  return out;
}

std::vector<std::vector<size_t>> PartitionBatch(const std::vector<const msg::JobSpec*>& batch,
                                                const std::vector<const HostView*>& hosts, int offers_per_job,
                                                Strategy default_strategy) {
  std::vector<std::vector<size_t>> out(hosts.size());
  if (hosts.empty()) return out;
  const size_t k = std::min(hosts.size(), static_cast<size_t>(std::max(1, offers_per_job)));
  std::vector<int64_t> room;  // what the cached views say is left, as primaries are given
  room.reserve(hosts.size());
  for (const HostView* v : hosts) room.push_back(std::max<int64_t>(0, v->free.ram_mb));
  std::vector<size_t> order(batch.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return BiggerFirst(*batch[a], *batch[b]); });
  std::map<std::string, std::set<size_t>> ha_primaries;  // service -> hosts that are a replica's primary
  size_t cursor = 0;
  std::vector<size_t> picked;
  for (size_t ji : order) {
    const msg::JobSpec& spec = *batch[ji];
    std::set<size_t>* ha = spec.rules.ha ? &ha_primaries[spec.service] : nullptr;
    auto eligible = [&](size_t i) {
      return spec.rules.constraints.empty() || Matches(hosts[i]->labels, spec.rules.constraints);
    };
    const bool binpack = ParseStrategy(spec.strategy, default_strategy) == Strategy::kBinpack;
    size_t primary = hosts.size();
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (!eligible(i) || (ha && ha->count(i)) || room[i] < spec.resources.ram_mb) continue;
      if (primary == hosts.size()) {
        primary = i;
        if (binpack) break;  // the sample is ordered tightest first
      } else if (room[i] > room[primary]) {
        primary = i;
      }
    }
    picked.clear();
    if (primary < hosts.size()) {
      picked.push_back(primary);
      room[primary] -= spec.resources.ram_mb;
      if (ha) ha->insert(primary);
    }
    // Stand-ins for a late or full primary. Binpack: the hosts after it in
    // the sample's order (the next tightest), so the batch stays on few
    // hosts; spread: the others in turn round the sample.
    size_t from = binpack ? (primary < hosts.size() ? primary + 1 : 0) : cursor;
    for (size_t n = 0; n < hosts.size() && picked.size() < k; ++n) {
      size_t i = (from + n) % hosts.size();
      if (i == primary || !eligible(i)) continue;
      picked.push_back(i);
      if (!binpack) cursor = (i + 1) % hosts.size();
    }
    if (picked.empty()) {  // no sampled host matches: let every bid say why
      for (size_t i = 0; i < hosts.size(); ++i) picked.push_back(i);
    }
    for (size_t i : picked) out[i].push_back(ji);
  }
  // A sampled host offered nothing (a random probe, under binpack) still bids
  // on the smallest job: its bid is how a stale view of it is refreshed.
  if (!order.empty()) {
    for (auto& o : out) {
      if (o.empty()) o.push_back(order.back());
    }
  }
  return out;
}

}  // namespace rv::elrond
