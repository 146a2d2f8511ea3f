#include "strider/link.h"

#include <algorithm>
#include <limits>

#include "common/msg/protocol.h"
#include "common/transport/curve.h"

namespace rv::strider {

Link::Link(zmq::context_t& ctx, const std::string& endpoint, const transport::CurveKeypair& mine,
           const std::string& server_public_key, const std::string& routing_id, int zmtp_heartbeat_ms,
           int zmtp_timeout_ms)
    : socket_(ctx, zmq::socket_type::dealer), endpoint_(endpoint) {
  transport::SetDefaults(socket_);
  transport::MakeCurveClient(socket_, mine, server_public_key);
  if (zmtp_heartbeat_ms > 0) transport::SetHeartbeat(socket_, zmtp_heartbeat_ms, zmtp_timeout_ms);
  if (!routing_id.empty()) socket_.set(zmq::sockopt::routing_id, routing_id);
  monitor_ = std::make_unique<transport::ConnectionMonitor>(ctx, socket_);
  socket_.connect(endpoint);
}

bool Link::SendRaw(const std::string& bytes) {
  ++sends_;
  try {
    return socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

bool Link::HandleReply(const msg::Envelope& env) {
  if (env.type != msg::Reply::kType) return false;
  auto it = pending_.find(env.req_id);
  if (it == pending_.end()) return false;
  ReplyFn fn = std::move(it->second.fn);
  pending_.erase(it);
  msg::Reply reply;
  Status s = msg::DecodeBody(env, &reply);
  if (!s.ok()) {
    fn(s, "");
    return true;
  }
  if (reply.code != 0) {
    auto code = reply.code > 0 && reply.code <= static_cast<int>(Status::Code::kInternal)
                    ? static_cast<Status::Code>(reply.code)
                    : Status::Code::kInternal;
    fn(Status::FromCode(code, reply.error), "");
    return true;
  }
  fn(Status::Ok(), reply.payload);
  return true;
}

int64_t Link::NextDeadlineMs() const {
  int64_t first = std::numeric_limits<int64_t>::max();
  for (const auto& [id, p] : pending_) first = std::min(first, p.deadline_ms);
  return first;
}

void Link::Expire(int64_t now_ms) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_ms <= now_ms) {
      ReplyFn fn = std::move(it->second.fn);
      it = pending_.erase(it);
      fn(Status::Unavailable("no reply from " + endpoint_ + " in time"), "");
    } else {
      ++it;
    }
  }
}

void Link::FailAll(const std::string& why) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) p.fn(Status::Unavailable(why), "");
}

}  // namespace rv::strider
