// StriderLink: elrond's side of the strider conversation. A CURVE ROUTER that
// only enrolled hosts can connect to: the context's ZAP handler allows each
// enrolled host's public key with user id = host id. ROUTER_MANDATORY makes a
// send to a host that is not connected fail at once (instead of vanishing), so
// the engine never waits for a bid from a host that never got the announce;
// ROUTER_HANDOVER lets a restarted strider take its routing id back.
//
// Every received message is checked before the engine sees it: exactly two
// frames, routing id = authenticated User-Id, a decodable envelope of a known
// type. Violations are counted ("msg.*") and logged; nothing is fatal.
//
// As the engine's Outbox, Multicast copies one zmq message per host; libzmq
// shares the buffer by reference count, so an announce is encoded and copied
// into ZeroMQ once however many hosts receive it.
// Not thread-safe: owned by elrond's loop thread.
#pragma once

#include <zmq.hpp>

#include <memory>
#include <string>

#include "common/counters.h"
#include "common/status.h"
#include "common/transport/keys.h"
#include "common/transport/zap.h"
#include "elrond/auction.h"

namespace rv::elrond {

class StriderLink : public Outbox {
 public:
  StriderLink(zmq::context_t& ctx, const transport::CurveKeypair& mine, Counters* counters);
  Status Bind(const std::string& endpoint);
  std::string endpoint() const { return endpoint_; }
  zmq::socket_t& socket() { return router_; }

  // Keeps the ZAP allow-list in step with the enrolled hosts.
  void SetHostKey(const std::string& host_id, const std::string& public_key, bool allow);
  int64_t refused() const { return zap_.refused(); }

  // Reads up to `max` waiting messages and hands them to `engine`; returns how
  // many were read.
  int Drain(AuctionEngine& engine, int64_t (*now_ms)(), int max = 10000);

  void Multicast(const std::vector<std::string>& hosts, const std::string& bytes,
                 std::vector<char>* reached) override;
  bool Send(const std::string& host, const std::string& bytes) override;

 private:
  bool SendShared(const std::string& host, zmq::message_t& body);

  transport::ZapAuthenticator zap_;  // before the socket: must exist before bind
  zmq::socket_t router_;
  Counters* counters_;
  std::string endpoint_;
};

}  // namespace rv::elrond
