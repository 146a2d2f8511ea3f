#include "sauron/api_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/msg/env_config.h"
#include "common/msg/protocol.h"
#include "common/transport/curve.h"
#include "common/transport/rpc_client.h"
#include "sauron/env_delivery.h"
#include "sauron/releases_api.h"

namespace rv::sauron {
namespace {

constexpr int64_t kLogEveryMs = 1000;
constexpr int64_t kSecurityEventEveryMs = 1000;

// Every request type sauron serves.
const std::set<std::string>& KnownTypes() {
  static const std::set<std::string> kKnown = [] {
    std::set<std::string> k = {
      {msg::HostHello::kType},     {msg::Heartbeat::kType},     {msg::ClaimRequest::kType},
      {msg::JobReport::kType},     {msg::JobReports::kType},     {msg::SnapshotRequest::kType}, {msg::AwardRecordRequest::kType},
      {msg::RevokeRequest::kType}, {msg::PendingReasonsRequest::kType}, {msg::SchedCounters::kType}, {msg::EnrollHost::kType},
      {msg::DrainHost::kType},     {msg::SubmitJobs::kType},    {msg::StopJobs::kType},
      {msg::ListRequest::kType},
      {msg::ConfigSet::kType},     {msg::ConfigUnset::kType},   {msg::ConfigListRequest::kType},
      {msg::OverlayViewRequest::kType}, {msg::RotateKey::kType}, {msg::OverlayListRequest::kType},
    };
    for (const char* t : ReleaseRequestTypes()) k.insert(t);
    return k;
  }();
  return kKnown;
}

bool IsHostUser(const std::string& user) { return !user.empty() && user != "admin" && user != "elrond"; }

// Safe to log: printable, bounded.
std::string Clean(const std::string& s, size_t max = 64) {
  std::string out;
  for (char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

std::string Gets(const zmq::message_t& m, const char* prop) {
  try {
    const char* v = zmq_msg_gets(const_cast<zmq_msg_t*>(m.handle()), prop);
    return v ? v : "";
  } catch (...) {
    return "";
  }
}

}  // namespace

uint64_t PeekReqId(const void* data, size_t size) {
  if (size == 0 || size > msg::kMaxMessageBytes) return 0;
  try {
    msgpack::unpack_limit limits(16, 1024, 1 << 20, 1 << 20, 0, 4);
    std::size_t off = 0;
    auto oh = msgpack::unpack(static_cast<const char*>(data), size, off, nullptr, nullptr, limits);
    const msgpack::object& root = oh.get();
    if (root.type != msgpack::type::ARRAY || root.via.array.size < 3) return 0;
    const msgpack::object& id = root.via.array.ptr[2];
    return id.type == msgpack::type::POSITIVE_INTEGER ? id.via.u64 : 0;
  } catch (...) {
    return 0;
  }
}

ApiServer::ApiServer(zmq::context_t& ctx, const transport::CurveKeypair& keys, ApiDeps deps)
    : router_(ctx, zmq::socket_type::router), d_(std::move(deps)) {
  transport::SetDefaults(router_);
  transport::MakeCurveServer(router_, keys);
  // A host that reconnects (same routing id) takes its identity over at once;
  // otherwise replies go to the dead connection until libzmq notices it.
  router_.set(zmq::sockopt::router_handover, 1);
  monitor_ = std::make_unique<transport::ConnectionMonitor>(ctx, router_);
}

ApiServer::~ApiServer() = default;

Status ApiServer::Bind(const std::string& endpoint, int zmtp_heartbeat_ms, int lost_after_ms, int keepalive_s) {
  try {
    if (zmtp_heartbeat_ms > 0) transport::SetHeartbeat(router_, zmtp_heartbeat_ms, lost_after_ms);
    if (keepalive_s > 0) transport::SetTcpKeepalive(router_, keepalive_s);
    router_.bind(endpoint);
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind api on " + endpoint + ": " + e.what());
  }
  return Status::Ok();
}

bool ApiServer::LogAllowed(const std::string& key) {
  int64_t now = MonotonicMs();
  auto it = last_log_ms_.find(key);
  if (it != last_log_ms_.end() && now - it->second < kLogEveryMs) {
    ++suppressed_[key];
    return false;
  }
  if (last_log_ms_.size() > 4096) last_log_ms_.clear();  // bounded, whatever peers do
  last_log_ms_[key] = now;
  if (auto s = suppressed_.find(key); s != suppressed_.end()) {
    spdlog::warn("({} similar messages suppressed for {})", s->second, key);
    suppressed_.erase(s);
  }
  return true;
}

void ApiServer::Refuse(const std::string& user, const std::string& what) {
  d_.counters->Add("api.refused");
  if (LogAllowed("refused:" + user)) spdlog::warn("refused request from '{}': {}", Clean(user), what);
  int64_t now = MonotonicMs();
  auto it = last_security_ms_.find(user);
  if (it != last_security_ms_.end() && now - it->second < kSecurityEventEveryMs) return;
  if (last_security_ms_.size() > 4096) last_security_ms_.clear();
  last_security_ms_[user] = now;
  std::string host = IsHostUser(user) ? user : "";
  Status s = d_.store->AppendEvent("security.refused", host, "", 0, Clean(user) + ": " + what, WallMs());
  if (!s.ok()) spdlog::error("cannot record security event: {}", s.message());
}

void ApiServer::DrainMonitor(int64_t now_mono_ms) {
  while (auto ev = monitor_->Next()) {
    if (ev->kind == transport::ConnEvent::kHandshakeFailed) {
      d_.counters->Add("api.handshake_failed");
      continue;
    }
    d_.liveness->OnConnEvent(*ev, now_mono_ms);
  }
}

int ApiServer::DrainRequests(int max) {
  // Read a chunk of waiting requests, then handle elrond's first: every
  // placement waits for its sched.award reply, while a host's claim or report
  // can wait a chunk. ZeroMQ's fair queue would put elrond behind one request
  // of every busy host (hundreds in a flood). Each peer's own order is kept.
  struct Request {
    zmq::message_t routing_id, body;
    std::string user;
  };
  std::vector<Request> chunk;
  int n = 0;
  while (n < max) {
    chunk.clear();
    for (; n < max && chunk.size() < kRequestsPerChunk; ++n) {
      std::vector<zmq::message_t> frames;
      try {
        zmq::message_t first;
        if (!router_.recv(first, zmq::recv_flags::dontwait)) break;
        bool more = first.more();
        frames.push_back(std::move(first));
        while (more && frames.size() < 64) {
          zmq::message_t m;
          if (!router_.recv(m, zmq::recv_flags::none)) break;
          more = m.more();
          frames.push_back(std::move(m));
        }
        while (more) {  // drain an absurd multipart message
          zmq::message_t m;
          if (!router_.recv(m, zmq::recv_flags::none)) break;
          more = m.more();
        }
      } catch (const zmq::error_t& e) {
        spdlog::error("api recv: {}", e.what());
        break;
      }
      // A DEALER's message arrives as [routing id][body].
      if (frames.size() != 2) {
        d_.counters->Add("api.bad_frames");
        if (LogAllowed("bad_frames")) spdlog::warn("dropped a message of {} frames (want 2)", frames.size());
        continue;
      }
      std::string user = Gets(frames[1], "User-Id");
      chunk.push_back(Request{std::move(frames[0]), std::move(frames[1]), std::move(user)});
    }
    if (chunk.empty()) break;
    std::stable_partition(chunk.begin(), chunk.end(), [](const Request& r) { return r.user == "elrond"; });
    for (auto& r : chunk) {
      std::string peer_ip = Gets(r.body, "Peer-Address");
      grouping_ = true;
      last_req_id_ = 0;
      std::string reply = Handle(r.user, peer_ip, r.body.data(), r.body.size());
      grouping_ = false;
      if (reply.empty()) continue;
      if (!d_.store->group_open()) {
        SendReply(r.routing_id, reply, r.user);
        continue;
      }
      // Not before the group's commit: a reply promises the change is durable.
      bool from_elrond = r.user == "elrond";
      held_.push_back(HeldReply{std::move(r.routing_id), std::move(reply), last_req_id_, std::move(r.user)});
      if (from_elrond) EndGroup();  // elrond sends no award before this reply: commit now
    }
    if (chunk.size() < kRequestsPerChunk) break;  // the queue is empty
  }
  EndGroup();
  return n;
}

void ApiServer::SendReply(zmq::message_t& routing_id, const std::string& reply, const std::string& user) {
  try {
    router_.send(routing_id, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    router_.send(zmq::buffer(reply), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    d_.counters->Add("api.reply_failed");
    if (LogAllowed("reply_failed")) spdlog::warn("cannot reply to '{}': {}", Clean(user), e.what());
  }
}

bool ApiServer::Groupable(const std::string& type) {
  // The hot requests of hosts and elrond, which write only through the Store.
  // The others (hello, admin, overlay) may write through another connection
  // (overlay, env config) that would wait for the group's lock, or are rare.
  return type == msg::Heartbeat::kType || type == msg::ClaimRequest::kType || type == msg::JobReport::kType ||
         type == msg::JobReports::kType || type == msg::AwardRecordRequest::kType ||
         type == msg::RevokeRequest::kType || type == msg::PendingReasonsRequest::kType ||
         type == msg::SubmitJobs::kType || type == msg::StopJobs::kType;
}

void ApiServer::JoinOrLeaveGroup(const std::string& type) {
  if (!Groupable(type)) {
    EndGroup();
    return;
  }
  // Bounded, so a long turn's early replies do not wait for its end.
  if (held_.size() >= kMaxGroupRequests || (d_.store->group_open() && MonotonicMs() - group_started_ms_ >= kMaxGroupMs)) {
    EndGroup();
  }
  if (!d_.store->group_open()) group_started_ms_ = MonotonicMs();
  (void)d_.store->BeginGroup();  // cannot fail: the database is touched at the group's first write
}

void ApiServer::EndGroup() {
  if (!d_.store->group_open()) return;
  Status s = d_.store->EndGroup();
  d_.counters->Add("api.groups");
  d_.counters->Add("api.group_requests", static_cast<int64_t>(held_.size()));
  for (auto& h : held_) {
    if (s.ok()) {
      SendReply(h.routing_id, h.reply, h.user);
    } else if (h.req_id != 0) {
      // Undone: say so instead of the reply, so the peer retries or resyncs.
      SendReply(h.routing_id, transport::EncodeReply(h.req_id, Status::Unavailable("not recorded: " + s.message())),
                h.user);
    }
  }
  if (!s.ok()) d_.counters->Add("api.group_commit_failed");
  held_.clear();
}

std::string ApiServer::Handle(const std::string& user, const std::string& peer_ip, const void* data, size_t size) {
  d_.counters->Add("api.messages");
  auto env = msg::DecodeEnvelope(data, size);
  if (!env.ok()) {
    const std::string& why = env.status().message();
    bool version = why.rfind("unsupported protocol version", 0) == 0;
    d_.counters->Add(version ? "api.bad_version" : "api.undecodable");
    if (LogAllowed("undecodable:" + user)) {
      spdlog::warn("rejected a message from '{}' ({} bytes): {}", Clean(user), size, why);
    }
    uint64_t req_id = PeekReqId(data, size);
    last_req_id_ = req_id;
    return req_id ? transport::EncodeReply(req_id, Status::Invalid(why)) : "";
  }
  last_req_id_ = env->req_id;
  if (grouping_) JoinOrLeaveGroup(env->type);
  int64_t t0 = MonotonicUs();
  auto r = Dispatch(user, peer_ip, *env);
  // Where sauron's time goes, by request type (admin.list what=counters).
  if (env->type.size() <= 32 && KnownTypes().count(env->type)) {
    d_.counters->Add("api.us." + env->type, MonotonicUs() - t0);
    d_.counters->Add("api.n." + env->type);
  }
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kInvalid) d_.counters->Add("api.invalid");
    if (r.status().code() == Status::Code::kInternal || r.status().code() == Status::Code::kIo) {
      spdlog::error("{} from '{}' failed: {}", Clean(env->type), Clean(user), r.status().message());
    } else if (LogAllowed("failed:" + env->type)) {
      spdlog::info("{} from '{}' refused: {}", Clean(env->type), Clean(user), r.status().message());
    }
    return env->req_id ? transport::EncodeReply(env->req_id, r.status()) : "";
  }
  return env->req_id ? *r : "";
}

// Returns the reply bytes for env.req_id (which may be 0: the caller drops it).
Result<std::string> ApiServer::Dispatch(const std::string& user, const std::string& peer_ip,
                                        const msg::Envelope& env) {
  const std::string& type = env.type;
  const uint64_t id = env.req_id;
  int64_t now = WallMs();
  auto decode = [&](auto* body) -> Status {
    Status s = msg::DecodeBody(env, body);
    if (!s.ok()) {
      d_.counters->Add("api.malformed");
      if (LogAllowed("malformed:" + user)) spdlog::warn("malformed {} from '{}': {}", Clean(type), Clean(user), s.message());
    }
    return s;
  };
  auto deny = [&](const std::string& what) -> Status {
    Refuse(user, what);
    return Status::Denied(what);
  };
  // A host's message must name the host it comes from.
  auto check_host = [&](const std::string& host_id) -> Status {
    if (host_id != user) {
      return deny("host '" + Clean(user) + "' sent " + type + " as host '" + Clean(host_id) + "'");
    }
    d_.liveness->OnMessage(user, MonotonicMs());
    return Status::Ok();
  };
  auto role_of = [](const std::string& t) -> std::string {
    auto dot = t.find('.');
    return dot == std::string::npos ? "" : t.substr(0, dot);
  };
  if (!KnownTypes().count(type)) {
    d_.counters->Add("api.unknown_type");
    if (LogAllowed("unknown:" + user)) spdlog::warn("unknown message type '{}' from '{}'", Clean(type), Clean(user));
    return Status::Invalid("unknown message type '" + Clean(type) + "' for sauron");
  }
  const std::string role = role_of(type);
  if (role == "admin" && user != "admin") return deny(type + " is for operators only");
  if (role == "sched" && user != "elrond") return deny(type + " is for the scheduler only");
  if ((role == "host" || role == "job") && !IsHostUser(user)) return deny(type + " is for hosts only");
  if ((role == "host" || role == "job") && !d_.store->FindHost(user)) return deny("'" + Clean(user) + "' is not an enrolled host");

  // ---- hosts ----
  if (type == msg::HostHello::kType) {
    msg::HostHello b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = check_host(b.host_id); !s.ok()) return s;
    auto w = d_.store->HostUp(b, now);
    if (!w.ok()) return w.status();
    if (d_.overlay) {
      if (Status os = d_.overlay->OnHello(user, b.aesni); !os.ok()) spdlog::error("{}", os.message());
    }
    w->heartbeat_ms = d_.heartbeat_ms;
    if (d_.beacons != nullptr) {
      auto session = d_.beacons->Issue(user);
      w->beacon_port = d_.beacons->port();
      w->beacon_ms = d_.beacon_ms;
      w->beacon_session = session.id;
      w->beacon_key = session.key;
    }
    if (d_.env_config != nullptr) w->sealed_envs = SealKept(*d_.store, *d_.env_config, user, w->keep, d_.counters);
    auto bind = d_.liveness->OnHello(user, b.conn_endpoint, peer_ip, MonotonicMs());
    if (bind == Liveness::Bind::kAddressMismatch) {
      d_.counters->Add("api.endpoint_mismatch");
      spdlog::warn("host {} named connection {} but its messages come from {}", user, Clean(b.conn_endpoint), peer_ip);
    }
    if (LogAllowed("hello:" + user)) {
      spdlog::info("host {} up ({}), keep {} stop {}", user, Clean(b.conn_endpoint), w->keep.size(), w->stop.size());
    }
    return transport::EncodeReplyWith(id, *w);
  }
  if (type == msg::Heartbeat::kType) {
    msg::Heartbeat b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = check_host(b.host_id); !s.ok()) return s;
    Status s = d_.store->Heartbeat(user, b.free, now);
    if (!s.ok()) {
      d_.counters->Add("api.heartbeat_refused");
      return s;  // a host that is not up must say hello (a request heartbeat learns so)
    }
    d_.counters->Add("api.heartbeats");
    return transport::EncodeReplyWith(id, msg::HeartbeatAck{d_.liveness->BeaconsHeard(user)});
  }
  if (type == msg::ClaimRequest::kType) {
    msg::ClaimRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = check_host(b.host_id); !s.ok()) return s;
    // The overlay's backstop for the bidders' AES-NI declines (a bid can
    // race the env's creation or a rotation): a host that could not open the
    // env's keys never gets one of its containers.
    std::vector<msg::Outcome> aead_refused;
    if (d_.overlay) {
      std::vector<msg::JobRef> keep;
      for (const auto& c : b.claims) {
        auto job = d_.store->GetJob(c.job_id);
        std::string why = job.ok() && job->host_id == user && !job->spec.image.empty()
                              ? d_.overlay->ClaimRefusal(user, job->spec.env)
                              : "";
        if (why.empty()) {
          keep.push_back(c);
          continue;
        }
        d_.counters->Add("overlay.claim_refused_aead");
        if (LogAllowed("aead:" + user)) spdlog::warn("claim of {} by {} refused: {}", Clean(c.job_id), Clean(user), why);
        aead_refused.push_back(msg::Outcome{c.job_id, c.attempt, false, why});
      }
      b.claims = std::move(keep);
    }
    if (d_.env_config == nullptr) {
      msg::Outcomes out{d_.store->Claim(user, b.claims, now)};
      for (auto& r : aead_refused) out.results.push_back(std::move(r));
      return transport::EncodeReplyWith(id, out);
    }
    // Seal first: a job whose config cannot be delivered is never placed.
    SealedClaims sc = SealClaims(*d_.store, *d_.env_config, user, b.claims, d_.counters);
    msg::Outcomes out{d_.store->Claim(user, sc.claimable, now)};
    for (auto& o : out.results) {
      auto it = sc.sealed.find(o.job_id);
      if (o.ok && it != sc.sealed.end()) o.sealed_env = std::move(it->second);
    }
    for (auto& r : sc.refused) out.results.push_back(std::move(r));
    for (auto& r : aead_refused) out.results.push_back(std::move(r));
    return transport::EncodeReplyWith(id, out);
  }
  if (type == msg::JobReport::kType) {
    msg::JobReport b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = check_host(b.host_id); !s.ok()) return s;
    auto ack = d_.store->Report(b, now);
    if (!ack.ok()) return ack.status();
    return transport::EncodeReplyWith(id, *ack);
  }

  if (type == msg::JobReports::kType) {
    msg::JobReports b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = check_host(b.host_id); !s.ok()) return s;
    if (b.reports.size() > kMaxReportsPerRequest) {
      return Status::Invalid("too many reports in one request (" + std::to_string(b.reports.size()) + " > " +
                             std::to_string(kMaxReportsPerRequest) + ")");
    }
    for (const auto& r : b.reports) {
      if (r.host_id != b.host_id) return deny("host '" + Clean(user) + "' reported for host '" + Clean(r.host_id) + "'");
    }
    auto stop = d_.store->Reports(b.reports, now);
    if (!stop.ok()) return stop.status();
    return transport::EncodeReplyWith(id, msg::ReportAcks{std::move(*stop)});
  }

  // ---- scheduler ----
  if (type == msg::SnapshotRequest::kType) {
    msg::SnapshotRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto snap = d_.store->Snapshot(b.include_placed);
    if (!snap.ok()) return snap.status();
    if (d_.overlay) snap->env_aeads = d_.overlay->EnvAeads();
    return transport::EncodeReplyWith(id, *snap);
  }
  if (type == msg::AwardRecordRequest::kType) {
    msg::AwardRecordRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    return transport::EncodeReplyWith(id, msg::Outcomes{d_.store->Award(b.awards, now)});
  }
  if (type == msg::RevokeRequest::kType) {
    msg::RevokeRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    return transport::EncodeReplyWith(id, msg::Outcomes{d_.store->Revoke(b.items, b.reason, now)});
  }
  if (type == msg::PendingReasonsRequest::kType) {
    msg::PendingReasonsRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    return transport::EncodeReplyWith(id, msg::Outcomes{d_.store->SetPendingReasons(b.items, now)});
  }

  if (type == msg::SchedCounters::kType) {
    msg::SchedCounters b;
    if (Status s = decode(&b); !s.ok()) return s;
    // Bounded: a confused scheduler must not grow sauron without limit.
    if (b.counters.size() > kMaxSchedCounters) return Status::Invalid("too many counters");
    sched_counters_ = std::move(b.counters);
    return transport::EncodeReply(id, Status::Ok());
  }

  // ---- operators ----
  if (type == msg::EnrollHost::kType) {
    msg::EnrollHost b;
    if (Status s = decode(&b); !s.ok()) return s;
    msg::HostRecord before;
    if (auto* h = d_.store->FindHost(b.host_id)) before = *h;
    if (Status s = d_.store->EnrollHost(b); !s.ok()) return s;
    const msg::HostRecord* after = d_.store->FindHost(b.host_id);
    if (after && d_.on_enrolled) d_.on_enrolled(before, *after);
    spdlog::info("enrolled host {} (key {})", b.host_id, transport::KeyFingerprint(b.public_key));
    return transport::EncodeReply(id, Status::Ok());
  }
  if (type == msg::DrainHost::kType) {
    msg::DrainHost b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = d_.store->DrainHost(b.host_id, b.drain); !s.ok()) return s;
    return transport::EncodeReply(id, Status::Ok());
  }
  if (type == msg::SubmitJobs::kType) {
    msg::SubmitJobs b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto ids = d_.store->SubmitJobs(std::move(b.jobs), now);
    if (!ids.ok()) return ids.status();
    return transport::EncodeReplyWith(id, msg::JobIds{std::move(*ids)});
  }
  if (type == msg::StopJobs::kType) {
    msg::StopJobs b;
    if (Status s = decode(&b); !s.ok()) return s;
    return transport::EncodeReplyWith(id, msg::Outcomes{d_.store->Stop(b.job_ids, now)});
  }
  if (type == msg::ListRequest::kType) {
    msg::ListRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    msg::Listing out;
    if (b.what == "hosts") {
      out.hosts = d_.store->Hosts();
    } else if (b.what == "jobs") {
      auto jobs = d_.store->ListJobs({}, b.limit);
      if (!jobs.ok()) return jobs.status();
      out.jobs = std::move(*jobs);
    } else if (b.what == "events") {
      auto events = d_.store->ListEvents(b.after_seq, b.limit);
      if (!events.ok()) return events.status();
      out.events = std::move(*events);
    } else if (b.what == "counters") {
      out.counters = d_.counters->Snapshot();
      out.counters["events.last_seq"] = d_.store->last_seq();
      if (d_.extra_counters) d_.extra_counters(&out.counters);
      for (const auto& [k, v] : sched_counters_) out.counters["elrond." + k] = v;
    } else {
      return Status::Invalid("admin.list what must be hosts, jobs, events or counters, not '" + Clean(b.what) + "'");
    }
    return transport::EncodeReplyWith(id, out);
  }
  if (type == msg::ConfigSet::kType || type == msg::ConfigUnset::kType || type == msg::ConfigListRequest::kType) {
    if (d_.env_config == nullptr) return Status::Unavailable("this sauron keeps no environment config");
    if (type == msg::ConfigSet::kType) {
      msg::ConfigSet b;
      if (Status s = decode(&b); !s.ok()) return s;
      Status s = d_.env_config->Set(b.env, b.vars, b.secret, now);
      for (auto& [k, v] : b.vars) crypto::Wipe(v);
      if (!s.ok()) return s;
      d_.counters->Add("config.set");
      // Names only: values are never logged, nor put in events.
      std::string names;
      for (const auto& [k, v] : b.vars) names += (names.empty() ? "" : ",") + k;
      spdlog::info("config of {}: set {}{}", Clean(b.env, 128), Clean(names, 256), b.secret ? " (secret)" : "");
      (void)d_.store->AppendEvent("config.set", "", "", 0, Clean(b.env, 128) + ": " + Clean(names, 256), now);
      if (d_.releases) OnEnvConfigChanged(*d_.releases, *d_.store, b.env, "set " + Clean(names, 200), now);
      return transport::EncodeReply(id, Status::Ok());
    }
    if (type == msg::ConfigUnset::kType) {
      msg::ConfigUnset b;
      if (Status s = decode(&b); !s.ok()) return s;
      if (Status s = d_.env_config->Unset(b.env, b.names); !s.ok()) return s;
      d_.counters->Add("config.unset");
      std::string names;
      for (const auto& n : b.names) names += (names.empty() ? "" : ",") + n;
      (void)d_.store->AppendEvent("config.unset", "", "", 0, Clean(b.env, 128) + ": " + Clean(names, 256), now);
      if (d_.releases) OnEnvConfigChanged(*d_.releases, *d_.store, b.env, "unset " + Clean(names, 200), now);
      return transport::EncodeReply(id, Status::Ok());
    }
    msg::ConfigListRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto vars = d_.env_config->List(b.env);
    if (!vars.ok()) return vars.status();
    return transport::EncodeReplyWith(id, msg::ConfigListing{b.env, std::move(*vars)});
  }
  if (IsReleaseRequest(type)) {
    if (d_.releases == nullptr) return Status::Unavailable("this sauron keeps no releases");
    return DispatchReleases(*d_.releases, *d_.store, env, now);
  }
  return DispatchOverlay(user, env);
}

// ---- overlay (issue 4) ----
Result<std::string> ApiServer::DispatchOverlay(const std::string& user, const msg::Envelope& env) {
  const std::string& type = env.type;
  auto decode = [&](auto* body) -> Status {
    Status s = msg::DecodeBody(env, body);
    if (!s.ok()) d_.counters->Add("api.malformed");
    return s;
  };
  if (!d_.overlay) return Status::Unavailable("the overlay is disabled on this sauron");
  if (type == msg::OverlayViewRequest::kType) {
    msg::OverlayViewRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (b.host_id != user) {
      Refuse(user, "host '" + Clean(user) + "' asked for the overlay view of '" + Clean(b.host_id) + "'");
      return Status::Denied("a host may only read its own overlay view");
    }
    d_.liveness->OnMessage(user, MonotonicMs());
    auto v = d_.overlay->ViewFor(user, d_.store->Hosts());
    if (!v.ok()) return v.status();
    d_.counters->Add("overlay.views");
    return transport::EncodeReplyWith(env.req_id, *v);
  }
  if (type == msg::RotateKey::kType) {
    msg::RotateKey b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto r = d_.overlay->Rotate(b.env, d_.store->Hosts(), WallMs(), b.aead);
    if (!r.ok()) return r.status();
    return transport::EncodeReplyWith(env.req_id, *r);
  }
  if (type == msg::OverlayListRequest::kType) {
    msg::OverlayListRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    msg::OverlayListing l{d_.overlay->Listing(b.env)};
    if (!b.env.empty() && l.envs.empty())
      return Status::NotFound("environment '" + Clean(b.env) + "' has no overlay network (no container of it ran yet)");
    return transport::EncodeReplyWith(env.req_id, l);
  }
  return Status::Internal("unhandled type " + type);
}

}  // namespace rv::sauron
