// ChangeStream: sauron's PUB socket (CURVE server). After a transaction
// commits, each of its events is published as two frames:
//   [topic = "all/<kind>", e.g. "all/job.placed"][envelope of msg::Change]
// and once more under "to/<host>/<kind>" for each host it concerns
// (AddressedHosts; see common/msg/topics.h), sharing the same body bytes.
// It also joins the feed: Flush() (the daemon calls it every loop turn, and it
// runs itself every kMaxFeedBatch changes) sends the changes since the last
// flush, in order, as one msg::Changes under "feed/", which is how elrond
// follows the pod: at 10,000 placements that is a few hundred messages to
// encrypt and decrypt instead of 40,000.
// `Change.event.seq` is the events table's seq, so it is gapless; a subscriber
// that sees a gap (slow, reconnected, or it subscribed late) re-reads the state
// with sched.snapshot or admin.list and continues from the snapshot's seq.
// Publishing never blocks: PUB drops messages for a subscriber whose queue is
// full, which that subscriber then sees as a gap.
//
// Not thread-safe: the daemon's loop owns it.
#pragma once

#include <zmq.hpp>

#include <string>
#include <vector>

#include "common/msg/protocol.h"
#include "common/status.h"
#include "common/transport/keys.h"

namespace rv::sauron {

// The hosts whose strider must hear of `change`: for a job event, the host
// named by the event (the one it left, for revoked/stopped/lost) and the host
// the job is on now; for "overlay.changed", the hosts listed in its detail;
// for "proxy.changed", the hosts of its detail (common/proxy_notice.h).
std::vector<std::string> AddressedHosts(const msg::Change& change);

class ChangeStream {
 public:
  ChangeStream(zmq::context_t& ctx, const transport::CurveKeypair& keys);
  // Binds `endpoint` ("tcp://127.0.0.1:*" picks a free port; see endpoint()).
  Status Bind(const std::string& endpoint);
  const std::string& endpoint() const { return endpoint_; }
  void Publish(const msg::Change& change);
  // Only to/<event.host_id>/<event.kind>: a transient notice for one host
  // (log.wanted), outside the event log, the "all/" topics and the feed, so
  // it has no seq and no other watcher sees a gap or a stranger's request.
  void PublishToHost(const msg::Change& change);
  // Sends the feed message of the changes published since the last flush.
  void Flush();
  static constexpr size_t kMaxFeedBatch = 256;
  int64_t published() const { return published_; }
  int64_t dropped() const { return dropped_; }

 private:
  bool Send(const std::string& topic, zmq::message_t& body);

  zmq::socket_t pub_;
  std::string feed_bodies_;  // msgpack bodies of the changes not yet in the feed
  size_t feed_count_ = 0;
  std::string endpoint_;
  int64_t published_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace rv::sauron
