#include "sauron/change_stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/event_kinds.h"
#include "common/msg/envelope.h"
#include "common/msg/topics.h"
#include "common/proxy_notice.h"
#include "common/transport/curve.h"

namespace rv::sauron {

ChangeStream::ChangeStream(zmq::context_t& ctx, const transport::CurveKeypair& keys)
    : pub_(ctx, zmq::socket_type::pub) {
  transport::SetDefaults(pub_);
  transport::MakeCurveServer(pub_, keys);
}

Status ChangeStream::Bind(const std::string& endpoint) {
  try {
    pub_.bind(endpoint);
    endpoint_ = pub_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind change stream on " + endpoint + ": " + e.what());
  }
  return Status::Ok();
}

std::vector<std::string> AddressedHosts(const msg::Change& change) {
  std::vector<std::string> hosts;
  auto add = [&](const std::string& h) {
    if (!h.empty() && std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  };
  const auto& kind = change.event.kind;
  if (kind.rfind(event_kind::kJobPrefix, 0) == 0) {
    add(change.event.host_id);
    if (change.job) add(change.job->host_id);
  } else if (kind == event_kind::kHostLost) {
    add(change.event.host_id);  // if it is alive after all, it hears so and says hello again
  } else if (kind == event_kind::kOverlayChanged) {
    const std::string& d = change.event.detail;
    for (size_t start = 0; start <= d.size();) {
      size_t comma = d.find(',', start);
      if (comma == std::string::npos) comma = d.size();
      add(d.substr(start, comma - start));
      start = comma + 1;
    }
  } else if (kind == event_kind::kProxyChanged) {
    for (const auto& h : ParseProxyNotice(change.event.detail).hosts) add(h);
  }
  return hosts;
}

bool ChangeStream::Send(const std::string& topic, zmq::message_t& body) {
  // PUB never blocks on send; a full subscriber queue silently drops.
  pub_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  return pub_.send(body, zmq::send_flags::dontwait).has_value();
}

namespace {
// An envelope's header (see msg::Encode) before a body packed elsewhere, so a
// change is packed once for its own message and for the feed's.
void PackHeader(msgpack::sbuffer& buf, std::string_view type) {
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(msg::kProtocolVersion);
  pk.pack(type);
  pk.pack(uint64_t{0});
}
}  // namespace

void ChangeStream::Flush() {
  if (feed_count_ == 0) return;
  msgpack::sbuffer buf(feed_bodies_.size() + 64);
  PackHeader(buf, msg::Changes::kType);
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(1);  // msg::Changes, as RV_DEFINE_MAP packs it
  pk.pack(std::string_view("changes"));
  pk.pack_array(static_cast<uint32_t>(feed_count_));
  buf.write(feed_bodies_.data(), feed_bodies_.size());
  feed_bodies_.clear();
  feed_count_ = 0;
  try {
    zmq::message_t body(buf.data(), buf.size());
    if (!Send(std::string(msg::kFeedTopic), body)) ++dropped_;
  } catch (const zmq::error_t& e) {
    ++dropped_;
    spdlog::error("change stream: cannot publish the feed: {}", e.what());
  }
}

void ChangeStream::Publish(const msg::Change& change) {
  msgpack::sbuffer packed;
  msgpack::pack(packed, change);
  feed_bodies_.append(packed.data(), packed.size());
  ++feed_count_;
  msgpack::sbuffer whole(packed.size() + 32);
  PackHeader(whole, msg::Change::kType);
  whole.write(packed.data(), packed.size());
  std::string_view encoded(whole.data(), whole.size());
  try {
    zmq::message_t body(encoded.data(), encoded.size());
    std::vector<std::string> hosts = AddressedHosts(change);
    for (const auto& h : hosts) {
      // copy() shares the buffer by reference count: one encoding for all.
      zmq::message_t shared;
      shared.copy(body);
      if (!Send(msg::HostTopic(h, change.event.kind), shared)) ++dropped_;
    }
    if (Send(msg::PodTopic(change.event.kind), body)) {
      ++published_;
    } else {
      ++dropped_;
    }
  } catch (const zmq::error_t& e) {
    ++dropped_;
    spdlog::error("change stream: cannot publish seq {}: {}", change.event.seq, e.what());
  }
  if (feed_count_ >= kMaxFeedBatch) Flush();
}

void ChangeStream::PublishToHost(const msg::Change& change) {
  try {
    zmq::message_t body(msg::Encode(change));
    if (!Send(msg::HostTopic(change.event.host_id, change.event.kind), body)) ++dropped_;
  } catch (const zmq::error_t& e) {
    ++dropped_;
    spdlog::error("change stream: cannot send {} to {}: {}", change.event.kind, change.event.host_id, e.what());
  }
}

}  // namespace rv::sauron
