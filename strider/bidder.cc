#include "strider/bidder.h"

#include <algorithm>

#include "common/labels.h"
#include "common/proxy_job.h"
#include "strider/reservations.h"

namespace rv::strider {
namespace {

double Fraction(int64_t free, int64_t cap) {
  if (cap <= 0) return 0;
  return std::clamp(static_cast<double>(free) / static_cast<double>(cap), 0.0, 1.0);
}

}  // namespace

double Score(const msg::Resources& free, const msg::Resources& capacity) {
  return (Fraction(free.ram_mb, capacity.ram_mb) + Fraction(free.disk_mb, capacity.disk_mb)) / 2.0;
}

std::optional<std::string> RuleDeclineReason(const BidderView& view, const msg::AnnouncedJob& job) {
  const auto& r = job.resources;
  if (AnyNegative(r)) return "invalid: negative resource request";
  if (auto m = FirstMismatch(view.labels, job.rules.constraints)) return m->Describe();
  if (job.needs_container && !view.containers) {
    return "no container runtime on this host" + (view.no_containers_why.empty() ? "" : ": " + view.no_containers_why);
  }
  // A build job on a host without a builder would only fail after the award.
  if (job.kind == "build" && !view.builds) {
    return "this host runs no builds" + (view.no_builds_why.empty() ? "" : ": " + view.no_builds_why);
  }
  // overlayd refuses an env whose AEAD the host cannot run; taking the job
  // would leave its container without a network.
  if (job.needs_aesni && !view.aesni) {
    return "no AES-NI on this host for environment " + job.env + "'s AES-256-GCM" +
           (job.env_aead.empty() ? "" : " (its overlay uses " + job.env_aead + ")");
  }
  if (job.rules.ha && !job.service.empty() && view.services.count(job.service)) {
    return "ha: host already runs a replica of " + job.service;
  }
  // Env proxies listen on a port hashed from their env: two envs can collide,
  // and only one of them can have the port on this host.
  if (job.kind == kProxyKind && !job.env.empty()) {
    const int port = ProxyPortFor(job.env);
    if (auto it = view.ports.find(port); it != view.ports.end() && it->second != job.env) {
      return "port " + std::to_string(port) + ": environment " + it->second + "'s proxy holds it on this host";
    }
  }
  return std::nullopt;
}

std::optional<std::string> DeclineReason(const BidderView& view, const msg::AnnouncedJob& job) {
  if (auto why = RuleDeclineReason(view, job)) return why;
  const auto& r = job.resources;
  if (r.ram_mb > view.free.ram_mb) {
    return "ram: want " + std::to_string(r.ram_mb) + "MB, free " + std::to_string(view.free.ram_mb) + "MB";
  }
  if (r.disk_mb > view.free.disk_mb) {
    return "disk: want " + std::to_string(r.disk_mb) + "MB, free " + std::to_string(view.free.disk_mb) + "MB";
  }
  if (r.cpu_millis > view.free.cpu_millis) {
    return "cpu: want " + std::to_string(r.cpu_millis) + "m, free " + std::to_string(view.free.cpu_millis) + "m";
  }
  return std::nullopt;
}

BidDecision DecideBid(const BidderView& view, const std::vector<msg::AnnouncedJob>& jobs) {
  BidDecision d;
  d.score = Score(view.free, view.capacity);
  msg::Resources want;
  for (const auto& job : jobs) {
    if (auto why = RuleDeclineReason(view, job)) {
      d.declines.push_back(msg::Decline{job.job_id, *why});
    } else if (Fits(job.resources, view.free)) {
      want = Plus(want, job.resources);
    }
  }
  d.hold = Min(want, view.free);
  return d;
}

}  // namespace rv::strider
