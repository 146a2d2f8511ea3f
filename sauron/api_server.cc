#include "sauron/api_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/transport/curve.h"
#include "common/transport/rpc_client.h"
#include "sauron/api_requests.h"

namespace rv::sauron {
namespace {

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
    : router_(ctx, zmq::socket_type::router), d_(std::move(deps)), audit_(d_.store, d_.counters) {
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

bool ApiServer::LogAllowed(const std::string& key) { return audit_.LogAllowed(key); }

void ApiServer::Refuse(const std::string& user, const std::string& what) { audit_.Refuse(user, what); }

Role ApiServer::RoleOf(const std::string& user) const {
  if (auto r = PodKeyRole(user)) return *r;
  return d_.store->FindHost(user) != nullptr ? Role::kHost : Role::kNone;
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
    std::stable_partition(chunk.begin(), chunk.end(),
                          [](const Request& r) { return PodKeyRole(r.user) == Role::kScheduler; });
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
      bool from_elrond = PodKeyRole(r.user) == Role::kScheduler;
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

void ApiServer::JoinOrLeaveGroup(const std::string& type) {
  if (!SauronRequests().groupable(type)) {
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

// A handler's bug (an exception no one caught) fails its one request, not
// sauron: every write of the request is in a transaction guard that rolls
// back as the exception passes (Store::Txn, SqliteTxn, SqliteSavepoint).
Status ApiServer::HandlerThrew(const msg::Envelope& env, const std::string& user, const std::string& what) {
  d_.counters->Add("api.handler_threw");
  if (LogAllowed("threw:" + env.type)) {
    spdlog::error("{} from '{}' threw: {} (a bug: refused, its unfinished writes undone)", Clean(env.type), Clean(user),
                  Clean(what));
  }
  return Status::Internal("sauron failed on this request (a bug, logged); its unfinished writes were undone");
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
  ApiCall call{user, RoleOf(user), env->type, peer_ip, WallMs(), d_, state_, audit_};
  Result<std::string> r = Status::Internal("unset");
  bool threw = false;  // logged with its cause already
  try {
    r = SauronRequests().Dispatch(call, *env);
  } catch (const std::exception& e) {
    r = HandlerThrew(*env, user, e.what());
    threw = true;
  } catch (...) {
    r = HandlerThrew(*env, user, "an exception that is not a std::exception");
    threw = true;
  }
  // Where sauron's time goes, by request type (admin.list what=counters).
  if (env->type.size() <= 32 && SauronRequests().Find(env->type) != nullptr) {
    d_.counters->Add("api.us." + env->type, MonotonicUs() - t0);
    d_.counters->Add("api.n." + env->type);
  }
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kInvalid) d_.counters->Add("api.invalid");
    if (threw) {
      // HandlerThrew logged it, with its cause.
    } else if (r.status().code() == Status::Code::kInternal || r.status().code() == Status::Code::kIo) {
      spdlog::error("{} from '{}' failed: {}", Clean(env->type), Clean(user), r.status().message());
    } else if (LogAllowed("failed:" + env->type)) {
      spdlog::info("{} from '{}' refused: {}", Clean(env->type), Clean(user), r.status().message());
    }
    return env->req_id ? transport::EncodeReply(env->req_id, r.status()) : "";
  }
  return env->req_id ? transport::EncodeReply(env->req_id, Status::Ok(), *r) : "";
}

}  // namespace rv::sauron
