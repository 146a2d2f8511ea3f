#include "strider/proxy_notice_listener.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "common/event_kinds.h"
#include "common/msg/topics.h"
#include "common/proxy_notice.h"
#include "common/transport/change_subscriber.h"

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
  transport::ChangeSubscriberOptions so;
  so.endpoint = o_.sauron_pub;
  so.key = o_.key;
  so.server_public_key = o_.sauron_public_key;
  so.topics = {msg::HostTopic(o_.host_id, event_kind::kProxyChanged)};
  so.name = "[" + o_.host_id + "] proxy notices";
  auto opened = transport::ChangeSubscriber::Open(ctx_, std::move(so));
  if (!opened.ok()) {
    spdlog::error("[{}] proxy notices: {} (proxies fall back to their slow refresh)", o_.host_id,
                  opened.status().message());
    return;
  }
  auto sub = std::move(*opened);
  auto on_change = [&](const Result<msg::Change>& c) {
    if (!c.ok() || c->event.kind != event_kind::kProxyChanged) return;
    ProxyNotice n = ParseProxyNotice(c->event.detail);
    if (n.env.empty() || !ProxyNoticeFor(n, o_.host_id)) return;
    ++received_;
    wakeups_->Notify(n.env, c->event.ts_ms);
  };
  if (Status s = sub->RunUntil(stop_, on_change); !s.ok()) {
    spdlog::error("[{}] proxy notices: {} (proxies fall back to their slow refresh)", o_.host_id, s.message());
  }
}

}  // namespace rv::strider
