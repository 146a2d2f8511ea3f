// PodConfig: how the daemons of one pod find and trust each other. One JSON file
// (`pod.json`) is shared by every process of the pod; each daemon reads the
// section it needs. Every field has a default, so `{}` is a valid one-machine pod.
//
// Keys live in <pod_dir>/keys/<name>.key (0600); a public key may instead be given
// inline (for hosts on other machines that only get the pod's public keys).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/msg/types.h"
#include "common/status.h"

namespace rv {

struct SauronConfig {
  std::string api = "tcp://127.0.0.1:7400";   // ROUTER: requests
  std::string pub = "tcp://127.0.0.1:7401";   // PUB: change stream
  std::string db = "sauron.db";               // relative to pod_dir
  std::string public_key;                     // "" = read keys/sauron.key.pub
  int heartbeat_ms = 5000;                    // application heartbeat (resources report)
  // Transport ping: only finds half-open TCP connections (silence is judged by
  // beacons). Rare on purpose: libzmq cancels a connection's ping-timeout timer
  // with a linear walk over all of its IO thread's timers, so at 1000 hosts
  // pings every 5 s cost sauron's IO thread ~1.3% of a core (docs/SAURON.md).
  int zmtp_heartbeat_ms = 30000;
  int lost_after_ms = 750;                    // silent this long => lost (3 beacons)
  int disconnect_grace_ms = 2000;             // TCP closed (agent gone) => lost after this, unless it says hello again
  int beacon_port = 0;                        // UDP liveness beacons; 0 = api port + 2, -1 = off
  int beacon_ms = 250;                        // how often hosts send one; unset: lost_after_ms / 3 (1000 hosts: 4,000 a second)
};

struct ElrondConfig {
  std::string endpoint = "tcp://127.0.0.1:7410";  // ROUTER: striders
  std::string public_key;
  int bid_deadline_ms = 50;
  int max_bid_deadline_ms = 1000;  // the adaptive deadline never exceeds this
  int ack_timeout_ms = 1000;
  int batch_max = 512;         // jobs per auction
  int sample_hosts = 64;       // announce to at most this many hosts (0 = all); see docs/SCHEDULER.md
  int offers_per_job = 3;      // in a sampled auction, hosts each job is offered to (0 = all sampled)
  int retry_pending_ms = 2000; // re-auction unplaceable jobs this often
  std::string strategy = "binpack";
};

struct EnrolledHost {  // hosts enrolled by configuration rather than `rv hosts enroll`
  std::string id;
  std::string public_key;
  std::map<std::string, std::string> labels;
};

struct PodConfig {
  std::string pod_dir = ".";
  SauronConfig sauron;
  ElrondConfig elrond;
  std::vector<EnrolledHost> hosts;

  std::string KeyPath(const std::string& name) const { return pod_dir + "/keys/" + name + ".key"; }
  std::string Path(const std::string& rel) const {
    return rel.empty() || rel[0] == '/' ? rel : pod_dir + "/" + rel;
  }
};

// Parses `path`; unknown keys are an error (a typo must not silently fall back
// to a default). pod_dir defaults to the file's directory.
Result<PodConfig> LoadPodConfig(const std::string& path);
Result<PodConfig> ParsePodConfig(const std::string& json_text, const std::string& default_pod_dir);

}  // namespace rv
