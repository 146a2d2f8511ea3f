// SauronLink: elrond's two connections to sauron, the source of truth.
//
//  * requests (DEALER, CURVE client, user "elrond"): sched.snapshot to (re)build
//    the engine's state, and the engine's Registry calls: sched.award,
//    sched.revoke, sched.pending. Sauron's compare-and-set on (state, attempt)
//    is the only commit point of a placement (docs/ARCHITECTURE.md).
//  * the change stream (SUB, CURVE client) on its "feed/" topic: every event
//    with the host/job record it changed, a commit's worth per message. `seq` is gapless; a gap (a slow subscriber dropped by
//    the PUB high-water mark, a reconnect, a restarted sauron) sets gap(), and
//    the owner takes a new snapshot (events up to its seq are then skipped).
//
// Not thread-safe: owned by elrond's loop thread.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <string>

#include "common/config.h"
#include "common/counters.h"
#include "common/server_keys.h"
#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"
#include "elrond/auction.h"

namespace rv::elrond {

class SauronLink : public Registry {
 public:
  SauronLink(zmq::context_t& ctx, const PodConfig& cfg, const transport::CurveKeypair& mine,
             const std::string& sauron_public_key, Counters* counters,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

  zmq::socket_t& sub() { return sub_; }

  Result<msg::Snapshot> TakeSnapshot();
  // Call after the engine applied a snapshot taken at `seq`.
  void Synced(int64_t seq);
  bool synced() const { return synced_; }
  // A gap in the change stream was seen since the last Synced().
  bool gap() const { return gap_; }

  // Applies waiting change events to `engine` (up to `max` feed messages).
  int Drain(AuctionEngine& engine, int64_t (*now_ms)(), int max = 10000);

  Result<msg::Outcomes> RecordAwards(const msg::AwardRecordRequest& req) override;
  Result<msg::Outcomes> Revoke(const msg::RevokeRequest& req) override;
  Status RecordPending(const msg::PendingReasonsRequest& req) override;
  // Hands elrond's counters to sauron, which shows them in `rv counters`
  // prefixed "elrond." (elrond has no operator-facing socket of its own).
  Status ReportCounters(const std::map<std::string, int64_t>& counters);

 private:
  transport::RpcClient rpc_;
  zmq::socket_t sub_;
  Counters* counters_;
  std::chrono::milliseconds timeout_;
  int64_t last_seq_ = 0;
  bool synced_ = false;
  bool gap_ = false;
};

}  // namespace rv::elrond
