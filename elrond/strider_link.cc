#include "elrond/strider_link.h"

#include <spdlog/spdlog.h>

#include "common/msg/envelope.h"
#include "common/transport/curve.h"

namespace rv::elrond {

StriderLink::StriderLink(zmq::context_t& ctx, const transport::CurveKeypair& mine, Counters* counters)
    : zap_(ctx), router_(ctx, zmq::socket_type::router), counters_(counters) {
  transport::SetDefaults(router_);
  router_.set(zmq::sockopt::router_mandatory, 1);
  router_.set(zmq::sockopt::router_handover, 1);
  transport::MakeCurveServer(router_, mine);
  zap_.OnRefused([counters](const std::string&, const std::string&) { counters->Add("security.refused"); });
}

Status StriderLink::Bind(const std::string& endpoint) {
  try {
    router_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind " + endpoint + ": " + e.what());
  }
  endpoint_ = router_.get(zmq::sockopt::last_endpoint);
  return Status::Ok();
}

void StriderLink::SetHostKey(const std::string& host_id, const std::string& public_key, bool allow) {
  if (!transport::IsValidZ85Key(public_key)) {
    counters_->Add("host.bad_key");
    spdlog::warn("host {} has no valid CURVE public key; it cannot connect", host_id);
    return;
  }
  if (allow) {
    zap_.Allow(public_key, host_id);
    spdlog::debug("allowing host {} (key {})", host_id, transport::KeyFingerprint(public_key));
  } else {
    zap_.Revoke(public_key);
  }
}

int StriderLink::Drain(AuctionEngine& engine, int64_t (*now_ms)(), int max) {
  int n = 0;
  for (; n < max; ++n) {
    zmq::message_t id;
    if (!router_.recv(id, zmq::recv_flags::dontwait)) break;
    std::vector<zmq::message_t> parts;
    bool more = id.more();
    while (more && parts.size() < 8) {
      zmq::message_t part;
      if (!router_.recv(part, zmq::recv_flags::dontwait)) break;
      more = part.more();
      parts.push_back(std::move(part));
    }
    while (more) {  // discard the rest of an oversized multipart message
      zmq::message_t part;
      if (!router_.recv(part, zmq::recv_flags::dontwait)) break;
      more = part.more();
    }
    if (parts.size() != 1) {
      counters_->Add("msg.malformed");
      spdlog::warn("message with {} frames from a strider; expected 1", parts.size());
      continue;
    }
    zmq::message_t& body = parts[0];
    std::string user;
    try {
      const char* u = body.gets("User-Id");
      user = u ? u : "";
    } catch (const zmq::error_t&) {
      user.clear();
    }
    if (user.empty() || id.to_string() != user) {
      counters_->Add("msg.routing_mismatch");
      spdlog::warn("message from routing id '{}' authenticated as '{}': refused", id.to_string(), user);
      continue;
    }
    auto env = msg::DecodeEnvelope(body.data(), body.size());
    if (!env.ok()) {
      counters_->Add("msg.malformed");
      spdlog::warn("undecodable message from {}: {}", user, env.status().message());
      continue;
    }
    int64_t now = now_ms();
    Status s;
    if (env->type == msg::Bid::kType) {
      msg::Bid m;
      s = msg::DecodeBody(*env, &m);
      if (s.ok()) engine.OnBid(user, m, now);
    } else if (env->type == msg::Ack::kType) {
      msg::Ack m;
      s = msg::DecodeBody(*env, &m);
      if (s.ok()) engine.OnAck(user, m, now);
    } else if (env->type == msg::StriderHello::kType) {
      msg::StriderHello m;
      s = msg::DecodeBody(*env, &m);
      if (s.ok()) engine.OnHello(user, m, now);
    } else {
      counters_->Add("msg.unknown_type");
      spdlog::warn("message of unexpected type '{}' from {}", env->type, user);
      continue;
    }
    if (!s.ok()) {
      counters_->Add("msg.malformed");
      spdlog::warn("malformed {} from {}: {}", env->type, user, s.message());
    }
  }
  return n;
}

bool StriderLink::SendShared(const std::string& host, zmq::message_t& body) {
  try {
    if (!router_.send(zmq::buffer(host), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
    return router_.send(body, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;  // EHOSTUNREACH: not connected (ROUTER_MANDATORY)
  }
}

void StriderLink::Multicast(const std::vector<std::string>& hosts, const std::string& bytes,
                            std::vector<char>* reached) {
  reached->assign(hosts.size(), 0);
  zmq::message_t shared(bytes.data(), bytes.size());
  for (size_t i = 0; i < hosts.size(); ++i) {
    zmq::message_t copy;
    copy.copy(shared);  // shares the buffer; no re-encode, no byte copy
    (*reached)[i] = SendShared(hosts[i], copy) ? 1 : 0;
  }
}

bool StriderLink::Send(const std::string& host, const std::string& bytes) {
  zmq::message_t body(bytes.data(), bytes.size());
  return SendShared(host, body);
}

}  // namespace rv::elrond
