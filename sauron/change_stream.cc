#include "sauron/change_stream.h"

#include <spdlog/spdlog.h>

#include "common/msg/envelope.h"
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

void ChangeStream::Publish(const msg::Change& change) {
  std::string body = msg::Encode(change);
  try {
    // PUB never blocks on send; a full subscriber queue silently drops.
    pub_.send(zmq::buffer(change.event.kind), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (pub_.send(zmq::buffer(body), zmq::send_flags::dontwait)) {
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
