// Delivery of environment config to the one host that runs a job.
//
// At claim time (job.claim, the commit point of an award) and when a host that
// restarted is told which jobs to keep (host.welcome), each job's environment
// vars are sealed (crypto_box_seal) to that host's enrolled CURVE public key,
// which is an X25519 key: only that host's secret key opens the box. Elrond,
// the change stream and the event log never see them.
//
// Contract: a claim whose environment cannot be sealed (its rows do not
// decrypt, the host's key is bad) is refused before the job is placed, with a
// reason that names the environment but no value, so the job never runs
// without its config. Jobs without an environment, or whose environment has
// no vars, get an empty sealed_env and cost no query.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/counters.h"
#include "common/msg/protocol.h"
#include "sauron/env_config_store.h"
#include "sauron/store.h"

namespace rv::sauron {

struct SealedClaims {
  std::vector<msg::JobRef> claimable;          // to pass on to Store::Claim
  std::map<std::string, std::string> sealed;   // job id -> sealed env (only non-empty ones)
  std::vector<msg::Outcome> refused;           // claims refused because their env could not be sealed
};

SealedClaims SealClaims(Store& store, EnvConfigStore& config, const std::string& host_id,
                        const std::vector<msg::JobRef>& claims, Counters* counters);

// job id -> sealed env for the `keep` jobs of a welcome (jobs that fail to seal
// are left out and logged; the host then starts them without, and the failure
// is counted as "config.seal_failed").
std::map<std::string, std::string> SealKept(Store& store, EnvConfigStore& config, const std::string& host_id,
                                            const std::vector<msg::JobRecord>& keep, Counters* counters);

}  // namespace rv::sauron
