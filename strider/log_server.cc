#include "strider/log_server.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "common/event_kinds.h"
#include "common/msg/logs.h"
#include "common/msg/topics.h"
#include "common/transport/change_subscriber.h"
#include "common/transport/rpc_client.h"
#include "strider/log_reader.h"

namespace rv::strider {

LogServer::~LogServer() {
  stop_ = true;
  if (th_.joinable()) th_.join();
}

void LogServer::Start() {
  if (o_.sauron_pub.empty() || o_.sauron_api.empty()) return;
  th_ = std::thread([this] { Loop(); });
}

void LogServer::Loop() {
  transport::ChangeSubscriberOptions so;
  so.endpoint = o_.sauron_pub;
  so.key = o_.key;
  so.server_public_key = o_.sauron_public_key;
  so.topics = {msg::HostTopic(o_.host_id, event_kind::kLogWanted)};
  so.name = "[" + o_.host_id + "] log reads";
  auto opened = transport::ChangeSubscriber::Open(ctx_, std::move(so));
  if (!opened.ok()) {
    spdlog::error("[{}] log reads: {} (rv logs cannot read this host's logs)", o_.host_id, opened.status().message());
    return;
  }
  auto sub = std::move(*opened);
  std::unique_ptr<transport::RpcClient> rpc;
  auto on_change = [&](const Result<msg::Change>& c) {
    if (!c.ok() || c->event.kind != event_kind::kLogWanted || c->event.host_id != o_.host_id) {
      return;
    }
    msg::LogWant want;
    auto env = msg::DecodeEnvelope(c->event.detail);
    if (!env.ok() || !msg::DecodeBody(*env, &want).ok() || want.job_id.empty()) {
      return;
    }
    msg::HostLogChunk out;
    out.host_id = o_.host_id;
    out.token = want.token;
    out.chunk = ReadLogChunk(LogPathOfJob(o_.data_dir, o_.container_state_dir, want.job_id), want.cursor,
                             want.tail_bytes, want.max_bytes);
    if (!rpc) rpc = std::make_unique<transport::RpcClient>(ctx_, o_.sauron_api, o_.key, o_.sauron_public_key);
    Status s = rpc->Call(out, std::chrono::seconds(5));
    if (!s.ok()) {
      // The reader retries; a fresh socket next time, in case this one is stuck.
      if (s.code() == Status::Code::kUnavailable) rpc.reset();
      spdlog::warn("[{}] log chunk for {}: {}", o_.host_id, want.job_id, s.message());
    }
  };
  if (Status s = sub->RunUntil(stop_, on_change); !s.ok()) {
    spdlog::error("[{}] log reads: {} (rv logs cannot read this host's logs)", o_.host_id, s.message());
  }
}

}  // namespace rv::strider
