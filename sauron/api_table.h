// RequestTable: every request type sauron serves, one row each:
// {type, roles allowed, groupable, handler}.
//
// Contract:
//  * A front (today the ZeroMQ ROUTER of api_server.h; an HTTP adapter later)
//    authenticates the caller, resolves its Role (never from the message),
//    decodes the envelope and calls Dispatch. Dispatch refuses an unknown type
//    (Invalid, "api.unknown_type") and a caller whose role the row does not
//    allow (Denied, recorded by ApiAudit::Refuse) before any body is decoded.
//  * A handler returns the reply's payload: an encoded envelope of its result
//    type (Answer(body)), or "" for a bare Ok. The front frames it (req_id,
//    code); handlers never see the transport.
//  * `groupable` rows write only through the Store and may share a group
//    commit (see ApiServer::DrainRequests); the others end an open group.
//  * Adding a request type is one row: a module's Register*Requests function
//    (api_requests.h) calls On<Message>(roles, grouping, handler).
//
// The table is built once and read-only after: Dispatch is as thread-safe as
// the ApiDeps it is called with (the daemon calls it from its one loop).
#pragma once

#include <spdlog/spdlog.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/counters.h"
#include "common/msg/envelope.h"
#include "common/roles.h"
#include "common/status.h"
#include "sauron/beacon_receiver.h"
#include "sauron/env_config_store.h"
#include "sauron/liveness.h"
#include "sauron/overlay_state.h"
#include "sauron/store.h"

namespace rv::sauron {

class Accounts;      // sauron/accounts.h
class ReleaseStore;  // sauron/releases.h
class DomainStore;   // sauron/domain_store.h
class PodCa;         // sauron/pod_ca.h
class LogRelay;      // sauron/log_relay.h

struct ApiDeps {
  Store* store = nullptr;
  Liveness* liveness = nullptr;
  Counters* counters = nullptr;
  int heartbeat_ms = 1000;  // told to hosts in host.welcome
  BeaconReceiver* beacons = nullptr;  // null: hosts are not asked for beacons
  int beacon_ms = 250;
  // Called after a successful admin.enroll so the key can connect at once.
  std::function<void(const msg::HostRecord& before, const msg::HostRecord& after)> on_enrolled;
  // Extra counters for admin.list what=counters (ZAP refusals, stream drops...).
  std::function<void(std::map<std::string, int64_t>*)> extra_counters;
  // Environment config vars and secrets (admin.config_*; sealed into claim
  // replies and welcomes). Null: admin.config_* is refused, nothing is sealed.
  EnvConfigStore* env_config = nullptr;
  // The overlay (host.overlay, admin.rotate_key, admin.overlay); null = off.
  OverlayState* overlay = nullptr;
  // Users, SSH keys, apps, access (admin.user_*... and git.*); null = refused.
  Accounts* accounts = nullptr;
  // Apps' builds and releases (admin.build_*, admin.release*, ...); null = off.
  ReleaseStore* releases = nullptr;
  // Apps' names and certificates (host.proxy_certs, edge.routes,
  // admin.domain_*, admin.cert*); null = refused. No pod CA: names get no
  // certificate until one is installed (rv certs:add).
  DomainStore* domains = nullptr;
  const PodCa* pod_ca = nullptr;
  std::string pod_domain = "rivendell.test";
  // Log reads (admin.log_read/log_fetch, host.log_chunk): the mailbox, and how
  // a "log.wanted" change reaches only its host (ChangeStream::PublishToHost).
  // Either null: refused.
  LogRelay* logs = nullptr;
  std::function<void(const msg::Change&)> notify_host;
};

// What the handlers keep between requests.
struct ApiState {
  static constexpr size_t kMaxSchedCounters = 4096;
  std::map<std::string, int64_t> sched_counters;  // elrond's, as it last reported them
};

// Rate-limited logging and the record of refusals, shared by every front.
class ApiAudit {
 public:
  ApiAudit(Store* store, Counters* counters) : store_(store), counters_(counters) {}
  // True at most once a second per key; says how many lines it held back.
  bool LogAllowed(const std::string& key);
  // Counts ("api.refused"), logs (rate-limited) and records a
  // `security.refused` event (at most one per user per second).
  void Refuse(const std::string& user, const std::string& what);

 private:
  Store* store_;
  Counters* counters_;
  std::map<std::string, int64_t> last_log_ms_;       // rate-limit key -> last time logged
  std::map<std::string, int64_t> suppressed_;        // rate-limit key -> lines not logged since
  std::map<std::string, int64_t> last_security_ms_;  // user -> last security.refused event
};

// One request being handled: who asks, and what a handler may use.
struct ApiCall {
  const std::string& user;     // the authenticated id (ZAP User-Id)
  Role role;
  const std::string& type;     // the request's message type
  const std::string& peer_ip;
  int64_t now_ms;              // wall clock
  const ApiDeps& deps;
  ApiState& state;
  ApiAudit& audit;

  // Refuses (see ApiAudit::Refuse) and returns Denied(what).
  Status Deny(const std::string& what) const;
  // A host's message must name the host it comes from; marks the host heard.
  Status CheckHost(const std::string& host_id) const;
};

// Safe to log: printable, bounded.
std::string Clean(const std::string& s, size_t max = 64);

// The payload of a reply carrying `body`.
template <typename T>
std::string Answer(const T& body) {
  return msg::Encode(body);
}

class RequestTable {
 public:
  using Handler = std::function<Result<std::string>(ApiCall&, const msg::Envelope&)>;
  // Checked after the role, before decoding (e.g. "the overlay is disabled").
  using Precondition = std::function<Status(const ApiDeps&)>;
  enum class Grouping { kAlone, kGroupable };
  struct Row {
    std::string type;
    RoleSet roles;
    Grouping grouping = Grouping::kAlone;
    Handler handler;
    Precondition precondition;
  };

  // Aborts on a duplicate type: two handlers for one type is a build error.
  void Add(Row row);

  // A row for message type Req, whose handler gets the decoded body:
  //   Result<std::string> fn(ApiCall&, Req&)
  template <typename Req, typename Fn>
  void On(RoleSet roles, Grouping grouping, Fn fn, Precondition pre = nullptr) {
    Add(Row{Req::kType, roles, grouping,
            [fn = std::move(fn)](ApiCall& call, const msg::Envelope& env) -> Result<std::string> {
              Req body;
              if (Status s = Decode(call, env, &body); !s.ok()) return s;
              return fn(call, body);
            },
            std::move(pre)});
  }

  const Row* Find(std::string_view type) const;
  bool groupable(std::string_view type) const {
    const Row* r = Find(type);
    return r != nullptr && r->grouping == Grouping::kGroupable;
  }
  // Every row, by type (tests, docs).
  std::vector<const Row*> rows() const;

  // Runs one request: known type, allowed role, precondition, handler.
  Result<std::string> Dispatch(ApiCall& call, const msg::Envelope& env) const;

 private:
  template <typename Req>
  static Status Decode(ApiCall& call, const msg::Envelope& env, Req* body) {
    Status s = msg::DecodeBody(env, body);
    if (!s.ok()) NoteMalformed(call, env.type, s);
    return s;
  }
  static void NoteMalformed(ApiCall& call, const std::string& type, const Status& s);

  std::unordered_map<std::string, Row> rows_;
};

}  // namespace rv::sauron
