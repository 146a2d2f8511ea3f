#include "common/transport/change_subscriber.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/msg/envelope.h"
#include "common/transport/curve.h"

namespace rv::transport {

Result<std::unique_ptr<ChangeSubscriber>> ChangeSubscriber::Open(zmq::context_t& ctx, ChangeSubscriberOptions o) {
  if (o.topics.empty()) return Status::Invalid("cannot subscribe to " + o.endpoint + ": no topics");
  std::unique_ptr<ChangeSubscriber> s(new ChangeSubscriber(ctx, std::move(o)));
  if (Status c = s->Connect(); !c.ok()) return c;
  return s;
}

ChangeSubscriber::ChangeSubscriber(zmq::context_t& ctx, ChangeSubscriberOptions o)
    : ctx_(ctx), o_(std::move(o)), backoff_(o_.first_backoff_ms, o_.max_backoff_ms) {}

ChangeSubscriber::~ChangeSubscriber() {
  monitor_.reset();  // before the socket it watches
  sub_.reset();
}

Status ChangeSubscriber::Connect() {
  monitor_.reset();
  sub_.reset();
  try {
    auto sub = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::sub);
    auto monitor = std::make_unique<ConnectionMonitor>(ctx_, *sub);  // destroyed first on a throw
    SetDefaults(*sub);
    MakeCurveClient(*sub, o_.key, o_.server_public_key);
    for (const auto& topic : o_.topics) sub->set(zmq::sockopt::subscribe, topic);
    sub->connect(o_.endpoint);
    sub_ = std::move(sub);
    monitor_ = std::move(monitor);
  } catch (const zmq::error_t& e) {
    return Status::Invalid("cannot subscribe to " + o_.endpoint + ": " + e.what());
  }
  return Status::Ok();
}

Result<bool> ChangeSubscriber::Resubscribe() {
  backoff_.Resubscribed();
  if (Status s = Connect(); !s.ok()) return s;
  return true;
}

void ChangeSubscriber::AppendPollItems(std::vector<zmq::pollitem_t>* items) {
  items->push_back({sub_ ? sub_->handle() : nullptr, -1, static_cast<short>(sub_ ? ZMQ_POLLIN : 0), 0});
  items->push_back(
      {monitor_ ? monitor_->socket().handle() : nullptr, -1, static_cast<short>(monitor_ ? ZMQ_POLLIN : 0), 0});
}

void ChangeSubscriber::DrainMonitor(int64_t now_ms) {
  while (auto ev = monitor_->Next()) {
    if (ev->kind != ConnEvent::kHandshakeFailed) continue;
    int64_t wait = backoff_.Refused(now_ms);
    if (wait == 0) continue;  // already waiting to subscribe again
    ++refused_;
    spdlog::warn("{}: CURVE handshake with {} refused (key not known yet?); subscribing again in {} ms", o_.name,
                 o_.endpoint, wait);
  }
}

void ChangeSubscriber::HandleReady(const zmq::pollitem_t* items, int64_t now_ms, const Handler& on_change) {
  if (!sub_ || !monitor_) return;
  if (items[1].revents & ZMQ_POLLIN) DrainMonitor(now_ms);
  if (!(items[0].revents & ZMQ_POLLIN)) return;
  for (int i = 0; i < o_.max_per_round; ++i) {
    zmq::message_t topic, body;
    if (!TryRecv(*sub_, &topic)) return;
    if (!topic.more()) continue;
    if (!TryRecv(*sub_, &body)) return;
    bool extra = false;
    while (body.more()) {  // read to the message's end so the next starts at its topic
      zmq::message_t rest;
      if (!TryRecv(*sub_, &rest)) break;
      extra = true;
      if (!rest.more()) break;
    }
    if (o_.message_resets_backoff) backoff_.Reset();
    if (extra) {
      on_change(Status::Invalid("change stream: a message of more than two frames"));
      continue;
    }
    auto env = msg::DecodeEnvelope(body.data(), body.size());
    if (!env.ok()) {
      on_change(Status::Invalid("change stream: " + env.status().message()));
      continue;
    }
    msg::Change change;
    if (Status s = msg::DecodeBody(*env, &change); !s.ok()) {
      on_change(Status::Invalid("change stream: " + s.message()));
      continue;
    }
    on_change(change);
  }
}

Result<bool> ChangeSubscriber::Tick(int64_t now_ms) {
  if (!backoff_.Due(now_ms)) return false;
  return Resubscribe();
}

Result<bool> ChangeSubscriber::ResubscribeNowIfRefused() {
  if (backoff_.due_at() == 0) return false;
  backoff_.Reset();
  return Resubscribe();
}

Status ChangeSubscriber::RunUntil(const std::atomic<bool>& stop, const Handler& on_change, int poll_ms) {
  std::vector<zmq::pollitem_t> items;
  while (!stop) {
    if (auto t = Tick(MonotonicMs()); !t.ok()) return t.status();
    items.clear();
    AppendPollItems(&items);
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(poll_ms));
    } catch (const zmq::error_t&) {
      continue;  // EINTR
    }
    HandleReady(items.data(), MonotonicMs(), on_change);
  }
  return Status::Ok();
}

}  // namespace rv::transport
