// Link: one asynchronous CURVE DEALER connection from an agent to a daemon's
// ROUTER (sauron's API or elrond), with its connection monitor.
//
// Unlike transport::RpcClient, Request() never blocks: the reply (or a
// timeout) is delivered to a callback from the owner's poll loop, so one
// thread can drive a thousand agents. The routing id is the host id, so the
// server can address the host by name. Not thread-safe: one owner thread.
#pragma once

#include <zmq.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/msg/envelope.h"
#include "common/transport/keys.h"
#include "common/transport/monitor.h"

namespace rv::strider {

class Link {
 public:
  using ReplyFn = std::function<void(const Status& status, const std::string& payload)>;

  Link(zmq::context_t& ctx, const std::string& endpoint, const transport::CurveKeypair& mine,
       const std::string& server_public_key, const std::string& routing_id, int zmtp_heartbeat_ms,
       int zmtp_timeout_ms);

  zmq::socket_t& socket() { return socket_; }
  transport::ConnectionMonitor& monitor() { return *monitor_; }
  const std::string& endpoint() const { return endpoint_; }

  template <typename M>
  bool Send(const M& m) {
    std::string bytes = msg::Encode(m, 0);
    return SendRaw(bytes);
  }
  template <typename Req>
  void Request(const Req& req, int64_t now_ms, int timeout_ms, ReplyFn fn) {
    uint64_t id = next_id_++;
    std::string bytes = msg::Encode(req, id);
    if (!SendRaw(bytes)) {
      fn(Status::Unavailable("cannot queue request to " + endpoint_), "");
      return;
    }
    pending_[id] = Pending{now_ms + timeout_ms, std::move(fn)};
  }

  // If `env` is a reply to one of our requests, runs its callback and returns
  // true. A reply nobody waits for (late, duplicate) is dropped: false.
  bool HandleReply(const msg::Envelope& env);
  // Fails requests whose deadline passed.
  void Expire(int64_t now_ms);
  // Fails every outstanding request (the link is being replaced).
  void FailAll(const std::string& why);
  size_t pending() const { return pending_.size(); }
  // The earliest deadline of a request still waiting; INT64_MAX without one.
  int64_t NextDeadlineMs() const;
  // Messages handed to the socket so far. A send may consume the ZMQ_FD
  // signal of input already queued, so an event loop that drives many links
  // from one epoll set re-checks ZMQ_EVENTS of a link whose count moved.
  uint64_t sends() const { return sends_; }

 private:
  bool SendRaw(const std::string& bytes);
  struct Pending {
    int64_t deadline_ms;
    ReplyFn fn;
  };
  zmq::socket_t socket_;
  std::unique_ptr<transport::ConnectionMonitor> monitor_;
  std::string endpoint_;
  uint64_t next_id_ = 1;
  uint64_t sends_ = 0;
  std::map<uint64_t, Pending> pending_;
};

}  // namespace rv::strider
