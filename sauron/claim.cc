#include "sauron/claim.h"

#include "sauron/env_delivery.h"

namespace rv::sauron {

msg::Outcomes ClaimJobs(const ClaimDeps& d, const std::string& host_id, std::vector<msg::JobRef> claims,
                        int64_t now_ms) {
  // The overlay's backstop for the bidders' AES-NI declines (a bid can race
  // the env's creation or a rotation): a host that could not open the env's
  // keys never gets one of its containers.
  std::vector<msg::Outcome> aead_refused;
  if (d.overlay != nullptr) {
    std::vector<msg::JobRef> keep;
    for (const auto& c : claims) {
      auto job = d.store->GetJob(c.job_id);
      std::string why = job.ok() && job->host_id == host_id && !job->spec.image.empty()
                            ? d.overlay->ClaimRefusal(host_id, job->spec.env)
                            : "";
      if (why.empty()) {
        keep.push_back(c);
        continue;
      }
      d.counters->Add("overlay.claim_refused_aead");
      if (d.log_refused) d.log_refused(c.job_id, why);
      aead_refused.push_back(msg::Outcome{c.job_id, c.attempt, false, why});
    }
    claims = std::move(keep);
  }
  if (d.env_config == nullptr) {
    msg::Outcomes out{d.store->Claim(host_id, claims, now_ms)};
    for (auto& r : aead_refused) out.results.push_back(std::move(r));
    return out;
  }
  // Seal first: a job whose config cannot be delivered is never placed.
  SealedClaims sc = SealClaims(*d.store, *d.env_config, host_id, claims, d.counters);
  msg::Outcomes out{d.store->Claim(host_id, sc.claimable, now_ms)};
  for (auto& o : out.results) {
    auto it = sc.sealed.find(o.job_id);
    if (o.ok && it != sc.sealed.end()) o.sealed_env = std::move(it->second);
  }
  for (auto& r : sc.refused) out.results.push_back(std::move(r));
  for (auto& r : aead_refused) out.results.push_back(std::move(r));
  return out;
}

}  // namespace rv::sauron
