// The hosts' requests: a strider's hello, heartbeats, claims and reports.
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/event_kinds.h"
#include "common/msg/protocol.h"
#include "sauron/api_requests.h"
#include "sauron/claim.h"
#include "sauron/env_delivery.h"

namespace rv::sauron {
namespace {

constexpr size_t kMaxReportsPerRequest = 4096;
using G = RequestTable::Grouping;

Result<std::string> Hello(ApiCall& c, msg::HostHello& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  const ApiDeps& d = c.deps;
  auto w = d.store->HostUp(b, c.now_ms);
  if (!w.ok()) return w.status();
  if (d.overlay) {
    if (Status os = d.overlay->OnHello(c.user, b.aesni); !os.ok()) spdlog::error("{}", os.message());
  }
  w->heartbeat_ms = d.heartbeat_ms;
  if (d.beacons != nullptr) {
    auto session = d.beacons->Issue(c.user);
    w->beacon_port = d.beacons->port();
    w->beacon_ms = d.beacon_ms;
    w->beacon_session = session.id;
    w->beacon_key = session.key;
  }
  if (d.env_config != nullptr) w->sealed_envs = SealKept(*d.store, *d.env_config, c.user, w->keep, d.counters);
  auto bind = d.liveness->OnHello(c.user, b.conn_endpoint, c.peer_ip, MonotonicMs());
  if (bind == Liveness::Bind::kAddressMismatch) {
    d.counters->Add("api.endpoint_mismatch");
    spdlog::warn("host {} named connection {} but its messages come from {}", c.user, Clean(b.conn_endpoint),
                 c.peer_ip);
  }
  if (c.audit.LogAllowed("hello:" + c.user)) {
    spdlog::info("host {} up ({}), keep {} stop {}", c.user, Clean(b.conn_endpoint), w->keep.size(), w->stop.size());
  }
  return Answer(*w);
}

Result<std::string> Heartbeat(ApiCall& c, msg::Heartbeat& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  Status s = c.deps.store->Heartbeat(c.user, b.free, c.now_ms);
  if (!s.ok()) {
    c.deps.counters->Add("api.heartbeat_refused");
    return s;  // a host that is not up must say hello (a request heartbeat learns so)
  }
  c.deps.counters->Add("api.heartbeats");
  return Answer(msg::HeartbeatAck{c.deps.liveness->BeaconsHeard(c.user)});
}

Result<std::string> Claim(ApiCall& c, msg::ClaimRequest& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  ClaimDeps d{c.deps.store, c.deps.overlay, c.deps.env_config, c.deps.counters,
              [&c](const std::string& job_id, const std::string& why) {
                if (c.audit.LogAllowed("aead:" + c.user)) {
                  spdlog::warn("claim of {} by {} refused: {}", Clean(job_id), Clean(c.user), why);
                }
              }};
  return Answer(ClaimJobs(d, c.user, std::move(b.claims), c.now_ms));
}

Result<std::string> Report(ApiCall& c, msg::JobReport& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  auto ack = c.deps.store->Report(b, c.now_ms);
  if (!ack.ok()) return ack.status();
  return Answer(*ack);
}

Result<std::string> Reports(ApiCall& c, msg::JobReports& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  if (b.reports.size() > kMaxReportsPerRequest) {
    return Status::Invalid("too many reports in one request (" + std::to_string(b.reports.size()) + " > " +
                           std::to_string(kMaxReportsPerRequest) + ")");
  }
  for (const auto& r : b.reports) {
    if (r.host_id != b.host_id) return c.Deny("host '" + Clean(c.user) + "' reported for host '" + Clean(r.host_id) + "'");
  }
  auto stop = c.deps.store->Reports(b.reports, c.now_ms);
  if (!stop.ok()) return stop.status();
  return Answer(msg::ReportAcks{std::move(*stop)});
}

// A clean stop: the host's jobs move now, not after the grace (docs/SCEPTRE.md).
Result<std::string> Bye(ApiCall& c, msg::HostBye& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  c.deps.liveness->Bye(c.user, "said bye: " + Clean(b.reason, 128), MonotonicMs());
  return std::string();
}

// sceptre's boot report goes into the event log as it came.
Result<std::string> Recovery(ApiCall& c, msg::HostRecovery& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  if (Status s = c.deps.store->AppendEvent(event_kind::kHostRecovered, c.user, "", 0, Clean(b.summary, 1024), c.now_ms);
      !s.ok())
    return s;
  return std::string();
}

}  // namespace

void RegisterHostRequests(RequestTable& t) {
  const RoleSet hosts{Role::kHost};
  // hello may write through the overlay's connection: never in a group.
  t.On<msg::HostHello>(hosts, G::kAlone, Hello);
  t.On<msg::Heartbeat>(hosts, G::kGroupable, Heartbeat);
  t.On<msg::ClaimRequest>(hosts, G::kGroupable, Claim);
  t.On<msg::JobReport>(hosts, G::kGroupable, Report);
  t.On<msg::JobReports>(hosts, G::kGroupable, Reports);
  t.On<msg::HostBye>(hosts, G::kAlone, Bye);
  t.On<msg::HostRecovery>(hosts, G::kAlone, Recovery);
}

}  // namespace rv::sauron
