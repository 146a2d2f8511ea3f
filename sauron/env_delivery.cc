#include "sauron/env_delivery.h"

#include <spdlog/spdlog.h>

namespace rv::sauron {

SealedClaims SealClaims(Store& store, EnvConfigStore& config, const std::string& host_id,
                        const std::vector<msg::JobRef>& claims, Counters* counters) {
  SealedClaims out;
  if (config.empty()) {
    out.claimable = claims;
    return out;
  }
  const msg::HostRecord* host = store.FindHost(host_id);
  for (const auto& c : claims) {
    auto job = store.GetJob(c.job_id);
    // An unknown job, or one that is not this host's, is Store::Claim's to
    // refuse, with its usual reason: nothing is decrypted for it.
    if (!job.ok() || job->host_id != host_id || !config.HasVars(job->spec.env)) {
      out.claimable.push_back(c);
      continue;
    }
    Result<std::string> sealed = host ? config.SealFor(job->spec.env, host->public_key)
                                      : Result<std::string>(Status::NotFound("host " + host_id + " is not enrolled"));
    if (!sealed.ok()) {
      if (counters) counters->Add("config.seal_failed");
      spdlog::error("cannot seal environment {} for job {} on {}: {}", job->spec.env, c.job_id, host_id,
                    sealed.status().message());
      out.refused.push_back(msg::Outcome{c.job_id, c.attempt, false,
                                         "environment " + job->spec.env + " config unavailable: " + sealed.status().message(),
                                         ""});
      continue;
    }
    if (counters) counters->Add("config.sealed");
    out.sealed[c.job_id] = std::move(*sealed);
    out.claimable.push_back(c);
  }
  return out;
}

std::map<std::string, std::string> SealKept(Store& store, EnvConfigStore& config, const std::string& host_id,
                                            const std::vector<msg::JobRecord>& keep, Counters* counters) {
  std::map<std::string, std::string> out;
  if (config.empty()) return out;
  const msg::HostRecord* host = store.FindHost(host_id);
  if (!host) return out;
  for (const auto& j : keep) {
    if (!config.HasVars(j.spec.env)) continue;
    auto sealed = config.SealFor(j.spec.env, host->public_key);
    if (!sealed.ok()) {
      if (counters) counters->Add("config.seal_failed");
      spdlog::error("cannot seal environment {} for kept job {} on {}: {}", j.spec.env, j.spec.id, host_id,
                    sealed.status().message());
      continue;
    }
    if (counters) counters->Add("config.sealed");
    out[j.spec.id] = std::move(*sealed);
  }
  return out;
}

}  // namespace rv::sauron
