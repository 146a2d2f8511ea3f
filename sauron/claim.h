// Claim: a host's job.claim, the commit point of an award.
//
// Contract, in order, for the claims of one request by host `host_id`:
//  1. AEAD backstop (overlay on): a claim of a container job whose environment
//     keys that host cannot open (OverlayState::ClaimRefusal) is refused with
//     the reason and never reaches the Store ("overlay.claim_refused_aead").
//  2. Env sealing (env config on): each job's environment is sealed to the
//     host's key first; a job whose config cannot be sealed is refused before
//     it is placed (env_delivery.h).
//  3. Store::Claim decides the rest (compare-and-set on state and attempt);
//     claimed jobs carry their sealed env in the outcome.
// Every claim gets exactly one Outcome: Store's first, then the seal refusals,
// then the AEAD refusals. Not thread-safe (uses the daemon's Store).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/counters.h"
#include "common/msg/protocol.h"
#include "sauron/env_config_store.h"
#include "sauron/overlay_state.h"
#include "sauron/store.h"

namespace rv::sauron {

struct ClaimDeps {
  Store* store = nullptr;
  OverlayState* overlay = nullptr;       // null: no AEAD backstop
  EnvConfigStore* env_config = nullptr;  // null: nothing sealed
  Counters* counters = nullptr;
  // Logs a refused claim (the caller rate-limits): (job id, reason).
  std::function<void(const std::string&, const std::string&)> log_refused;
};

msg::Outcomes ClaimJobs(const ClaimDeps& d, const std::string& host_id, std::vector<msg::JobRef> claims,
                        int64_t now_ms);

}  // namespace rv::sauron
