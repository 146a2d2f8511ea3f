#include "sauron/change_stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/msg/envelope.h"
#include "common/msg/topics.h"
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
  if (kind.rfind("job.", 0) == 0) {
    add(change.event.host_id);
    if (change.job) add(change.job->host_id);
  } else if (kind == "host.lost") {
    add(change.event.host_id);  // if it is alive after all, it hears so and says hello again
  } else if (kind == "overlay.changed") {
    const std::string& d = change.event.detail;
    for (size_t start = 0; start <= d.size();) {
      size_t comma = d.find(',', start);
      if (comma == std::string::npos) comma = d.size();
      add(d.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return hosts;
}

bool ChangeStream::Send(const std::string& topic, zmq::message_t& body) {
  // PUB never blocks on send; a full subscriber queue silently drops.
  pub_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  return pub_.send(body, zmq::send_flags::dontwait).has_value();
}

void ChangeStream::Publish(const msg::Change& change) {
  std::string encoded = msg::Encode(change);
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
}

}  // namespace rv::sauron
