// Opening a job's environment config on the host that claimed it.
//
// Sauron seals each job's environment vars and secrets (crypto_box_seal) to the
// claiming host's CURVE public key, an X25519 key, in the job.claim reply or,
// after a restart, in host.welcome. The strider opens them here with its CURVE
// secret key, in memory only; the returned SecretEnv wipes the values when it
// is destroyed. The caller passes them to Workload::Start and must never log
// or persist them. An empty box is an environment without vars.
#pragma once

#include <string>

#include "common/crypto/sealed_box.h"
#include "common/status.h"
#include "common/transport/keys.h"

namespace rv::strider {

Result<crypto::SecretEnv> OpenJobEnv(const transport::CurveKeypair& host_key, const std::string& sealed);

}  // namespace rv::strider
