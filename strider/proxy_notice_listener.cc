#include "strider/proxy_notice_listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/event_kinds.h"
#include "common/msg/envelope.h"
#include "common/msg/protocol.h"
#include "common/msg/topics.h"
#include "common/proxy_notice.h"
#include "common/clock.h"
#include "common/transport/curve.h"
#include "common/transport/monitor.h"

namespace rv::strider {

ProxyNoticeListener::ProxyNoticeListener(zmq::context_t& ctx, ProxyNoticeOptions o,
                                         std::shared_ptr<ProxyWakeups> wakeups)
    : ctx_(ctx), o_(std::move(o)), wakeups_(std::move(wakeups)) {}

ProxyNoticeListener::~ProxyNoticeListener() {
  stop_ = true;
  if (th_.joinable()) th_.join();
}

void ProxyNoticeListener::Start() {
  if (o_.sauron_pub.empty() || !wakeups_) return;
  th_ = std::thread([this] { Loop(); });
}

void ProxyNoticeListener::Loop() {
  std::unique_ptr<zmq::socket_t> sub;
  std::unique_ptr<transport::ConnectionMonitor> monitor;
  int64_t remake_at = 0, backoff = 500;
  auto make = [&]() -> bool {
    monitor.reset();  // before the socket it watches
    sub.reset();
    try {
      sub = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::sub);
      monitor = std::make_unique<transport::ConnectionMonitor>(ctx_, *sub);
      transport::SetDefaults(*sub);
      transport::MakeCurveClient(*sub, o_.key, o_.sauron_public_key);
      sub->set(zmq::sockopt::subscribe, msg::HostTopic(o_.host_id, event_kind::kProxyChanged));
      sub->connect(o_.sauron_pub);
      return true;
    } catch (const zmq::error_t& e) {
      spdlog::error("[{}] proxy notices: cannot subscribe to {}: {} (proxies fall back to their slow refresh)",
                    o_.host_id, o_.sauron_pub, e.what());
      monitor.reset();
      sub.reset();
      return false;
    }
  };
  if (!make()) return;
  while (!stop_) {
    if (remake_at > 0 && MonotonicMs() >= remake_at) {
      remake_at = 0;
      if (!make()) return;
    }
    zmq::pollitem_t items[] = {{sub->handle(), 0, ZMQ_POLLIN, 0}, {monitor->socket().handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(100));
    } catch (const zmq::error_t&) {
      continue;  // EINTR
    }
    if (items[1].revents & ZMQ_POLLIN) {
      while (auto ev = monitor->Next()) {
        // libzmq never retries a refused CURVE handshake (sauron did not know
        // this host's key yet): subscribe again after a backoff.
        if (ev->kind != transport::ConnEvent::kHandshakeFailed || remake_at > 0) continue;
        remake_at = MonotonicMs() + backoff;
        spdlog::warn("[{}] proxy notices: CURVE handshake with {} refused; subscribing again in {} ms", o_.host_id,
                     o_.sauron_pub, backoff);
        backoff = std::min<int64_t>(backoff * 2, 5000);
      }
    }
    for (int i = 0; i < 256 && (items[0].revents & ZMQ_POLLIN); ++i) {
      zmq::message_t topic, body;
      if (!sub->recv(topic, zmq::recv_flags::dontwait)) break;
      if (!topic.more() || !sub->recv(body, zmq::recv_flags::dontwait)) continue;
      backoff = 500;
      auto env = msg::DecodeEnvelope(body.data(), body.size());
      msg::Change c;
      if (!env.ok() || !msg::DecodeBody(*env, &c).ok() || c.event.kind != event_kind::kProxyChanged) continue;
      ProxyNotice n = ParseProxyNotice(c.event.detail);
      if (n.env.empty() || !ProxyNoticeFor(n, o_.host_id)) continue;
      ++received_;
      wakeups_->Notify(n.env, c.event.ts_ms);
    }
  }
  monitor.reset();
}

}  // namespace rv::strider
