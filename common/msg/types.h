// Value types shared by many messages: resources, placement rules, job specs,
// host and job records. All encode as msgpack maps (see envelope.h).
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/msg/fast_map.h"

namespace rv::msg {

struct Resources {
  int64_t ram_mb = 0;
  int64_t disk_mb = 0;
  int64_t cpu_millis = 0;  // 1000 = one core
  RV_DEFINE_MAP(ram_mb, disk_mb, cpu_millis);
};

// Pod-wide placement rules a job carries. Elrond checks all of them; a strider
// declines a job that breaks one it can see from its own state.
struct PlacementRules {
  bool ha = false;            // replicas of the same service never share a host
  bool spread_zones = false;  // spread replicas over the hosts' "zone" label values
  std::map<std::string, std::string> constraints;  // host labels that must match
  RV_DEFINE_MAP(ha, spread_zones, constraints);
};

struct HealthCheck {
  int32_t tcp_port = 0;      // 0: none
  std::string http_path;     // "" : TCP only
  int32_t interval_ms = 1000;
  int32_t timeout_ms = 500;
  RV_DEFINE_MAP(tcp_port, http_path, interval_ms, timeout_ms);
};

// What to run, where it may run, and with what. `id` is unique in the pod.
// Replicas of one service are separate jobs sharing `service`.
struct JobSpec {
  std::string id;
  std::string kind = "deploy";        // deploy | build | console
  std::string tenant, app, env;       // env: the environment (overlay, secrets scope)
  std::string service;                // replicas of one service share this
  int32_t replica = 0;
  int32_t priority = 0;               // start order after a reboot: data services (>0) before code
  Resources resources;
  PlacementRules rules;
  std::string strategy;               // binpack | spread; "" = pod default
  std::string image;                  // registry reference; "" = plain process
  std::vector<std::string> command;   // argv; for images, overrides the entrypoint
  std::map<std::string, std::string> config;  // non-secret environment variables
  int32_t port = 0;                   // the app's listening port, 0 = none
  HealthCheck health;
  std::string restart = "on-failure"; // always | on-failure | never
  RV_DEFINE_MAP(id, kind, tenant, app, env, service, replica, priority, resources, rules,
                     strategy, image, command, config, port, health, restart);
};

// Job lifecycle in sauron (`state`):
//   pending --award--> awarded --claim--> placed --stop--> stopped
//      ^                  |                 |
//      +----revoke--------+    host lost ---+  (back to pending, attempt kept)
// `attempt` grows on every award; an award, claim or revoke names the attempt it
// applies to, so a stale message can never move a job (compare-and-set).
// The container's own state (starting, running, exited, ...) is `run_state`.
struct JobRecord {
  JobSpec spec;
  std::string state;       // pending | awarded | placed | stopped
  int64_t attempt = 0;
  std::string host_id;     // awarded/placed: where
  std::string reason;      // pending: why not placed yet
  std::string run_state;   // as last reported by the strider
  std::string run_detail;
  int64_t updated_ms = 0;
  RV_DEFINE_MAP(spec, state, attempt, host_id, reason, run_state, run_detail, updated_ms);
};

struct HostRecord {
  std::string id;
  std::string address;       // underlay address other hosts reach it at
  std::string public_key;    // CURVE public key, Z85
  std::map<std::string, std::string> labels;  // set by the operator at enrollment
  Resources capacity;        // as reported, clamped to max_capacity if set
  Resources max_capacity;    // operator-set ceiling; zero = none
  Resources free;            // last reported free (after the host's reservations)
  std::string state;         // enrolled | up | lost
  bool drained = false;      // gets nothing new
  int64_t last_seen_ms = 0;
  RV_DEFINE_MAP(id, address, public_key, labels, capacity, max_capacity, free, state,
                     drained, last_seen_ms);
};

// A reference to one attempt of one job.
struct JobRef {
  std::string job_id;
  int64_t attempt = 0;
  RV_DEFINE_MAP(job_id, attempt);
};

// An entry of sauron's append-only event log; also what the change stream carries.
struct Event {
  int64_t seq = 0;
  int64_t ts_ms = 0;
  std::string kind;      // host.enrolled host.up host.lost host.drained job.submitted
                         // job.pending job.awarded job.placed job.revoked job.state
                         // job.stopped security.refused ...
  std::string host_id;
  std::string job_id;
  int64_t attempt = 0;
  std::string detail;
  RV_DEFINE_MAP(seq, ts_ms, kind, host_id, job_id, attempt, detail);
};

}  // namespace rv::msg
