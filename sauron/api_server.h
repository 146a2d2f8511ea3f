// ApiServer: sauron's request API over ZeroMQ, a CURVE ROUTER in front of the
// RequestTable (api_table.h), which holds every request type and its handler.
//
// Contract:
//  * Who may send what comes from the ZAP User-Id of the connection, never from
//    the message: the User-Id gives the caller's Role (RoleOf: a pod key's
//    role, else host while enrolled), and each request type's row names the
//    roles it allows; a host's message must also name that host. A refusal is answered (Denied), counted
//    ("api.refused"), logged (rate-limited) and recorded as a
//    `security.refused` event (at most one per peer per second).
//  * Undecodable, truncated, unknown-version or unknown-type messages are
//    counted ("api.undecodable", "api.unknown_type", "api.malformed", ...),
//    logged (rate-limited) and answered with an error whenever a req_id could
//    be read. Nothing a peer sends can crash the daemon or half-apply a request:
//    a handler's uncaught exception (a bug) is logged, counted
//    ("api.handler_threw") and answered Internal, its open writes rolled back
//    by their transaction guards; sauron goes on serving.
//  * Every request gets exactly one reply (transport::EncodeReply*), with the
//    request's req_id; one-way messages (req_id 0) get none.
//  * Group commit: DrainRequests runs consecutive hot requests (heartbeats,
//    claims, reports, sched.*, submits, stops) in one Store group and holds
//    their replies until its commit; a failed commit answers each of them
//    Unavailable instead. Any other request first ends the open group.
//  * Priority: DrainRequests reads up to 64 waiting requests at a time and
//    handles elrond's first (every placement waits for elrond's sched.award
//    reply); the order of each peer's own requests is kept.
//  * The ROUTER's connection monitor feeds Liveness (see liveness.h); ZMTP
//    heartbeats on the ROUTER turn a silent peer into a disconnect.
//
// Not thread-safe: the daemon's loop owns it.
#pragma once

#include <zmq.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/counters.h"
#include "common/msg/envelope.h"
#include "common/status.h"
#include "common/transport/keys.h"
#include "common/transport/monitor.h"
#include "sauron/api_table.h"

namespace rv::sauron {

class ApiServer {
 public:
  ApiServer(zmq::context_t& ctx, const transport::CurveKeypair& keys, ApiDeps deps);
  ~ApiServer();

  // Binds the ROUTER; zmtp_heartbeat_ms/lost_after_ms set its ZMTP heartbeat
  // (0: none). keepalive_s > 0 turns on TCP keepalive instead, for when
  // beacons judge silence and only half-open connections are left to find.
  Status Bind(const std::string& endpoint, int zmtp_heartbeat_ms, int lost_after_ms, int keepalive_s = 0);
  const std::string& endpoint() const { return endpoint_; }
  zmq::socket_t& router() { return router_; }
  zmq::socket_t& monitor_socket() { return monitor_->socket(); }

  // Feeds pending connection events to Liveness.
  void DrainMonitor(int64_t now_mono_ms);
  // Handles up to `max` waiting requests without blocking (group-committed,
  // see above); returns how many.
  int DrainRequests(int max);

  // Handles one message from an authenticated peer: returns the reply bytes
  // ("" for none). `user` is the ZAP User-Id, `peer_ip` libzmq's Peer-Address.
  std::string Handle(const std::string& user, const std::string& peer_ip, const void* data, size_t size);

  // Records a refusal: counter, rate-limited log, rate-limited security event.
  void Refuse(const std::string& user, const std::string& what);

  // The role `user` (a ZAP User-Id) speaks with: a pod key's, else host
  // while enrolled, else none.
  Role RoleOf(const std::string& user) const;

 private:
  bool LogAllowed(const std::string& key);
  // Counts and logs a handler's uncaught exception; the status its caller gets.
  Status HandlerThrew(const msg::Envelope& env, const std::string& user, const std::string& what);
  void SendReply(zmq::message_t& routing_id, const std::string& reply, const std::string& user);
  // Called by Handle in DrainRequests, before a request is dispatched.
  void JoinOrLeaveGroup(const std::string& type);
  // Commits the open group, if any, and sends (or fails) its held replies.
  void EndGroup();

  struct HeldReply {
    zmq::message_t routing_id;
    std::string reply;
    uint64_t req_id;
    std::string user;
  };
  static constexpr size_t kRequestsPerChunk = 64;  // read ahead, elrond's first
  static constexpr size_t kMaxGroupRequests = 64;
  static constexpr int64_t kMaxGroupMs = 5;
  int64_t group_started_ms_ = 0;
  bool grouping_ = false;   // inside DrainRequests: requests may join a group
  uint64_t last_req_id_ = 0;  // req_id of the message Handle last decoded
  std::vector<HeldReply> held_;

  zmq::socket_t router_;
  std::unique_ptr<transport::ConnectionMonitor> monitor_;
  ApiDeps d_;
  ApiAudit audit_;
  ApiState state_;
  std::string endpoint_;
};

// Reads the req_id of a message the envelope decoder refused, if its framing
// gets that far (so even an unknown-version request gets an error reply).
uint64_t PeekReqId(const void* data, size_t size);

}  // namespace rv::sauron
