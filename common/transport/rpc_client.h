// RpcClient: request/reply over a CURVE DEALER socket to a daemon's ROUTER.
//
// Call() sends a request with a fresh req_id and waits for the Reply with the
// same id, discarding stale replies of earlier timed-out calls. A timeout is
// Status::Unavailable and leaves the socket usable (DEALER is not lock-step).
// Call() never throws: a signal while it waits (EINTR) is retried, any other
// libzmq error is Unavailable. One-way messages go through Send() (which may
// throw zmq::error_t, as cppzmq does). Not thread-safe: one owner thread.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <string>

#include "common/msg/envelope.h"
#include "common/msg/protocol.h"
#include "common/transport/keys.h"

namespace rv::transport {

class RpcClient {
 public:
  // `routing_id` may be empty (libzmq picks one).
  RpcClient(zmq::context_t& ctx, const std::string& endpoint, const CurveKeypair& mine,
            const std::string& server_public_key, const std::string& routing_id = "");

  zmq::socket_t& socket() { return socket_; }

  // Sends `req` and decodes the reply's payload into `out` (may be null if the
  // caller expects no payload).
  template <typename Req, typename Resp>
  Status Call(const Req& req, Resp* out, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    uint64_t id = ++next_id_;
    auto payload = CallRaw(msg::Encode(req, id), id, timeout);
    if (!payload.ok()) return payload.status();
    if (out == nullptr) return Status::Ok();
    auto env = msg::DecodeEnvelope(*payload);
    if (!env.ok()) return env.status();
    return msg::DecodeBody(*env, out);
  }
  template <typename Req>
  Status Call(const Req& req, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    uint64_t id = ++next_id_;
    auto payload = CallRaw(msg::Encode(req, id), id, timeout);
    return payload.ok() ? Status::Ok() : payload.status();
  }
  template <typename M>
  bool Send(const M& m) {
    std::string bytes = msg::Encode(m, 0);
    return socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
  }

 private:
  Result<std::string> CallRaw(const std::string& bytes, uint64_t id, std::chrono::milliseconds timeout);

  zmq::socket_t socket_;
  uint64_t next_id_ = 0;
};

// Builds the Reply envelope a server sends for request `req_id`.
std::string EncodeReply(uint64_t req_id, const Status& status, const std::string& payload = "");
template <typename T>
std::string EncodeReplyWith(uint64_t req_id, const T& body) {
  return EncodeReply(req_id, Status::Ok(), msg::Encode(body));
}

}  // namespace rv::transport
