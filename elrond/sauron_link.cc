#include "elrond/sauron_link.h"

#include <spdlog/spdlog.h>

#include "common/msg/topics.h"
#include "common/msg/envelope.h"
#include "common/transport/curve.h"

namespace rv::elrond {

SauronLink::SauronLink(zmq::context_t& ctx, const PodConfig& cfg, const transport::CurveKeypair& mine,
                       const std::string& sauron_public_key, Counters* counters, std::chrono::milliseconds timeout)
    : rpc_(ctx, cfg.sauron.api, mine, sauron_public_key),
      sub_(ctx, zmq::socket_type::sub),
      counters_(counters),
      timeout_(timeout) {
  transport::SetDefaults(sub_);
  sub_.set(zmq::sockopt::rcvhwm, 1000000);  // a burst of 10k jobs is 30k+ events
  transport::MakeCurveClient(sub_, mine, sauron_public_key);
  sub_.set(zmq::sockopt::subscribe, std::string(msg::kFeedTopic));
  sub_.connect(cfg.sauron.pub);
}

Result<msg::Snapshot> SauronLink::TakeSnapshot() {
  msg::SnapshotRequest req;
  req.include_placed = true;
  msg::Snapshot snap;
  Status s = rpc_.Call(req, &snap, timeout_);
  if (!s.ok()) return s;
  return snap;
}

void SauronLink::Synced(int64_t seq) {
  last_seq_ = seq;
  synced_ = true;
  gap_ = false;
}

int SauronLink::Drain(AuctionEngine& engine, int64_t (*now_ms)(), int max) {
  int n = 0;
  for (; n < max; ++n) {
    zmq::message_t topic;
    if (!sub_.recv(topic, zmq::recv_flags::dontwait)) break;
    if (!topic.more()) {
      counters_->Add("change.malformed");
      continue;
    }
    zmq::message_t body;
    if (!sub_.recv(body, zmq::recv_flags::dontwait)) break;
    bool extra = body.more();
    while (extra) {
      zmq::message_t skip;
      if (!sub_.recv(skip, zmq::recv_flags::dontwait)) break;
      extra = skip.more();
    }
    auto env = msg::DecodeEnvelope(body.data(), body.size());
    msg::Changes batch;
    Status s = env.ok() ? msg::DecodeBody(*env, &batch) : env.status();
    if (!s.ok()) {
      counters_->Add("change.malformed");
      spdlog::warn("undecodable change feed message: {}", s.message());
      continue;
    }
    for (const auto& change : batch.changes) {
      if (!synced_ || gap_) break;  // the next snapshot covers it
      int64_t seq = change.event.seq;
      if (seq <= last_seq_) continue;  // already in the snapshot
      if (seq != last_seq_ + 1) {
        counters_->Add("change.gap");
        spdlog::warn("change stream gap: expected seq {}, got {}; re-reading state", last_seq_ + 1, seq);
        gap_ = true;
        break;
      }
      last_seq_ = seq;
      engine.ApplyChange(change, now_ms());
    }
  }
  return n;
}

Result<msg::Outcomes> SauronLink::RecordAwards(const msg::AwardRecordRequest& req) {
  msg::Outcomes out;
  Status s = rpc_.Call(req, &out, timeout_);
  if (!s.ok()) return s;
  return out;
}

Result<msg::Outcomes> SauronLink::Revoke(const msg::RevokeRequest& req) {
  msg::Outcomes out;
  Status s = rpc_.Call(req, &out, timeout_);
  if (!s.ok()) return s;
  return out;
}

Status SauronLink::RecordPending(const msg::PendingReasonsRequest& req) { return rpc_.Call(req, timeout_); }

Status SauronLink::ReportCounters(const std::map<std::string, int64_t>& counters) {
  return rpc_.Call(msg::SchedCounters{counters}, std::chrono::milliseconds(500));
}

}  // namespace rv::elrond
