#include "common/transport/rpc_client.h"

#include <cerrno>

#include "common/clock.h"
#include "common/transport/curve.h"

namespace rv::transport {

RpcClient::RpcClient(zmq::context_t& ctx, const std::string& endpoint, const CurveKeypair& mine,
                     const std::string& server_public_key, const std::string& routing_id)
    : socket_(ctx, zmq::socket_type::dealer) {
  SetDefaults(socket_);
  MakeCurveClient(socket_, mine, server_public_key);
  if (!routing_id.empty()) socket_.set(zmq::sockopt::routing_id, routing_id);
  socket_.connect(endpoint);
}

Result<std::string> RpcClient::CallRaw(const std::string& bytes, uint64_t id, std::chrono::milliseconds timeout) {
  try {
    if (!socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      return Status::Unavailable("cannot send request (not connected?)");
    }
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("cannot send request: ") + e.what());
  }
  int64_t deadline = MonotonicMs() + timeout.count();
  while (true) {
    int64_t left = deadline - MonotonicMs();
    if (left <= 0) return Status::Unavailable("no reply within " + std::to_string(timeout.count()) + " ms");
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::message_t m;
    // cppzmq throws where libzmq returns an error: a signal (EINTR) must not
    // end the calling thread, so retry; anything else (a terminated context)
    // is this call's failure, not the daemon's.
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(left));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      if (!socket_.recv(m, zmq::recv_flags::dontwait)) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status::Unavailable(std::string("waiting for the reply: ") + e.what());
    }
    auto env = msg::DecodeEnvelope(m.data(), m.size());
    if (!env.ok() || env->req_id != id) continue;  // stale or foreign: skip
    msg::Reply reply;
    Status s = msg::DecodeBody(*env, &reply);
    if (!s.ok()) return s;
    if (reply.code != 0) {
      auto code = reply.code > 0 && reply.code <= static_cast<int>(Status::Code::kInternal)
                      ? static_cast<Status::Code>(reply.code)
                      : Status::Code::kInternal;
      return Status::FromCode(code, reply.error);
    }
    return reply.payload;
  }
}

std::string EncodeReply(uint64_t req_id, const Status& status, const std::string& payload) {
  msg::Reply reply;
  reply.code = static_cast<int32_t>(status.code());
  reply.error = status.message();
  reply.payload = payload;
  return msg::Encode(reply, req_id);
}

}  // namespace rv::transport
