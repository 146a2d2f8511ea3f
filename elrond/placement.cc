#include "elrond/placement.h"

#include <algorithm>
#include <tuple>

namespace rv::elrond {

Strategy ParseStrategy(const std::string& s, Strategy fallback) {
  if (s == "binpack") return Strategy::kBinpack;
  if (s == "spread") return Strategy::kSpread;
  return fallback;
}

int ZoneCounts::Get(const std::string& service, const std::string& zone) const {
  auto it = counts_.find(service);
  if (it == counts_.end()) return 0;
  auto z = it->second.find(zone);
  return z == it->second.end() ? 0 : z->second;
}

void ZoneCounts::Add(const std::string& service, const std::string& zone, int delta) {
  if (service.empty()) return;
  int& c = counts_[service][zone];
  c += delta;
  if (c <= 0) {
    auto& m = counts_[service];
    m.erase(zone);
    if (m.empty()) counts_.erase(service);
  }
}

Verdict CheckFeasible(const msg::JobSpec& job, const HostView& host, std::string* detail) {
  if (!host.up) return Verdict::kDown;
  if (host.drained) return Verdict::kDrained;
  if (auto m = FirstMismatch(host.labels, job.rules.constraints)) {
    if (detail) *detail = m->Constraint();
    return Verdict::kConstraint;
  }
  if (job.rules.ha && !job.service.empty()) {
    auto it = host.services.find(job.service);
    if (it != host.services.end() && it->second > 0) return Verdict::kHa;
  }
  const auto& r = job.resources;
  if (r.ram_mb > host.free.ram_mb) return Verdict::kRam;
  if (r.disk_mb > host.free.disk_mb) return Verdict::kDisk;
  if (r.cpu_millis > host.free.cpu_millis) return Verdict::kCpu;
  return Verdict::kFits;
}

void RejectTally::Add(Verdict v, const std::string& detail) {
  std::string phrase;
  switch (v) {
    case Verdict::kFits: return;
    case Verdict::kDown: phrase = "are down or unreachable"; break;
    case Verdict::kDrained: phrase = "are drained"; break;
    case Verdict::kConstraint: phrase = "do not match constraint " + detail; break;
    case Verdict::kHa: phrase = "ha"; break;  // rendered with the service name in Summary
    case Verdict::kRam: phrase = "lack RAM"; break;
    case Verdict::kDisk: phrase = "lack disk"; break;
    case Verdict::kCpu: phrase = "lack CPU"; break;
    case Verdict::kDeclined: phrase = "declined (" + detail + ")"; break;
    case Verdict::kNoBid: phrase = "did not bid"; break;
  }
  counts_[phrase]++;
  total_++;
}

std::string RejectTally::Summary(const msg::JobSpec& job) const {
  if (total_ == 0) return "no host: no live host took part in the auction";
  std::vector<std::pair<int, std::string>> items;
  for (const auto& [phrase, n] : counts_) items.emplace_back(n, phrase);
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out = "no host:";
  const size_t kMaxItems = 6;  // a hostile strider could invent a reason per host
  for (size_t i = 0; i < items.size() && i < kMaxItems; ++i) {
    const auto& [n, phrase] = items[i];
    std::string p = phrase;
    if (p == "ha") p = (n == 1 ? "already runs a replica of " : "already run a replica of ") + job.service + " (ha)";
    else if (n == 1 && p.rfind("are ", 0) == 0) p = "is " + p.substr(4);
    else if (n == 1 && p.rfind("lack ", 0) == 0) p = "lacks " + p.substr(5);
    else if (n == 1 && p.rfind("do not", 0) == 0) p = "does not" + p.substr(6);
    out += (i ? ", " : " ") + std::to_string(n) + " " + p;
  }
  if (items.size() > kMaxItems) out += ", ...";
  return out;
}

namespace {

// Rank key: smaller is better. Components are compared lexicographically.
struct Key {
  int64_t zone = 0;      // replicas of the service in the host's zone (spread_zones), else 0
  int64_t a = 0, b = 0, c = 0, d = 0;
  size_t pos = 0;        // position in the (id-sorted) host list: the tie-break
  bool operator<(const Key& o) const {
    if (zone != o.zone) return zone < o.zone;
    if (a != o.a) return a < o.a;
    if (b != o.b) return b < o.b;
    if (c != o.c) return c < o.c;
    if (d != o.d) return d < o.d;
    return pos < o.pos;
  }
};

}  // namespace

Choice Select(const msg::JobSpec& job, Strategy strategy, const std::vector<const HostView*>& hosts,
              const ZoneCounts& zones, const std::vector<const std::string*>* declined, RejectTally* tally) {
  Choice choice;
  Key best[3];
  int idx[3] = {-1, -1, -1};
  int found = 0;
  const auto& r = job.resources;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const HostView& h = *hosts[i];
    // elrond's own rules first, so a pending reason reads the same whichever
    // side noticed; the strider's decline covers what only it can see.
    std::string detail;
    Verdict v = CheckFeasible(job, h, tally ? &detail : nullptr);
    if (v != Verdict::kFits) {
      if (tally) tally->Add(v, detail);
      continue;
    }
    if (declined && (*declined)[i] && !(*declined)[i]->empty()) {
      if (tally) tally->Add(Verdict::kDeclined, *(*declined)[i]);
      continue;
    }
    Key k;
    k.pos = i;
    if (job.rules.spread_zones) k.zone = zones.Get(job.service, h.zone);
    int64_t ram = h.free.ram_mb - r.ram_mb, disk = h.free.disk_mb - r.disk_mb, cpu = h.free.cpu_millis - r.cpu_millis;
    if (strategy == Strategy::kBinpack) {
      k.a = ram, k.b = disk, k.c = cpu;
    } else {
      int64_t same = 0;
      if (!job.service.empty()) {
        auto it = h.services.find(job.service);
        if (it != h.services.end()) same = it->second;
      }
      k.a = same, k.b = -ram, k.c = -disk, k.d = -cpu;
    }
    // Keep the three best in order (insertion into a tiny sorted array).
    if (found < 3 || k < best[found - 1]) {
      int pos = found < 3 ? found : 2;
      while (pos > 0 && k < best[pos - 1]) {
        best[pos] = best[pos - 1];
        idx[pos] = idx[pos - 1];
        --pos;
      }
      best[pos] = k;
      idx[pos] = static_cast<int>(i);
      if (found < 3) found++;
    }
  }
  if (found > 0) choice.best = idx[0];
  if (found > 1) choice.fallback[0] = idx[1];
  if (found > 2) choice.fallback[1] = idx[2];
  return choice;
}

bool BiggerFirst(const msg::JobSpec& a, const msg::JobSpec& b) {
  const auto& x = a.resources;
  const auto& y = b.resources;
  if (x.ram_mb != y.ram_mb) return x.ram_mb > y.ram_mb;
  if (x.disk_mb != y.disk_mb) return x.disk_mb > y.disk_mb;
  if (x.cpu_millis != y.cpu_millis) return x.cpu_millis > y.cpu_millis;
  return a.id < b.id;
}

}  // namespace rv::elrond
