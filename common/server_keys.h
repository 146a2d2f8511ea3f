// Where the public keys of the pod's servers come from, for every client
// (strider, elrond, rv, and the tools to come): one lookup, one order.
//
// Contract: the config's inline key (`sauron.public_key`, `elrond.public_key`)
// when set, which must then be a Z85 CURVE key (Invalid otherwise); else
// <pod_dir>/keys/<name>.key.pub; else the public line of <pod_dir>/keys/<name>.key.
// NotFound/Io when none is readable (a server may create its key later:
// callers that wait retry). Reads files only; thread-safe.
#pragma once

#include <string>

#include "common/config.h"
#include "common/status.h"

namespace rv {

Result<std::string> SauronPublicKey(const PodConfig& cfg);
Result<std::string> ElrondPublicKey(const PodConfig& cfg);

}  // namespace rv
