#include "strider/log_server.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "common/event_kinds.h"
#include "common/crypto/sealed_box.h"
#include "common/msg/job_input.h"
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
  so.topics = {msg::HostTopic(o_.host_id, event_kind::kLogWanted), msg::HostTopic(o_.host_id, event_kind::kInputWanted)};
  so.name = "[" + o_.host_id + "] log reads";
  auto opened = transport::ChangeSubscriber::Open(ctx_, std::move(so));
  if (!opened.ok()) {
    spdlog::error("[{}] log reads: {} (rv logs cannot read this host's logs)", o_.host_id, opened.status().message());
    return;
  }
  auto sub = std::move(*opened);
  std::unique_ptr<transport::RpcClient> rpc;
  auto on_change = [&](const Result<msg::Change>& c) {
    if (!c.ok() || c->event.host_id != o_.host_id) return;
    msg::HostLogChunk out;
    out.host_id = o_.host_id;
    std::string job_id;
    bool input = false;
    auto env = msg::DecodeEnvelope(c->event.detail);
    if (!env.ok()) return;
    if (c->event.kind == event_kind::kLogWanted) {
      msg::LogWant want;
      if (!msg::DecodeBody(*env, &want).ok() || want.job_id.empty()) return;
      out.token = want.token;
      job_id = want.job_id;
      out.chunk = ReadLogChunk(LogPathOfJob(o_.data_dir, o_.container_state_dir, want.job_id), want.cursor,
                               want.tail_bytes, want.max_bytes);
    } else if (c->event.kind == event_kind::kInputWanted) {
      msg::InputWant want;
      if (!msg::DecodeBody(*env, &want).ok() || want.job_id.empty()) return;
      input = true;
      out.token = want.token;
      job_id = want.job_id;
      Status s = o_.inputs ? o_.inputs->Write(want.job_id, want.seq, want.data, want.eof)
                           : Status::NotFound("this host runs no containers");
      crypto::Wipe(want.data);
      // The answer: no data; the error if it was not written (Unavailable:
      // send it again), next.offset the chunk it answers.
      out.chunk.ready = true;
      out.chunk.next.offset = want.seq;
      if (!s.ok()) out.chunk.error = (s.code() == Status::Code::kUnavailable ? msg::kInputBusy : "") + s.message();
    } else {
      return;
    }
    if (!rpc) rpc = std::make_unique<transport::RpcClient>(ctx_, o_.sauron_api, o_.key, o_.sauron_public_key);
    Status s = rpc->Call(out, std::chrono::seconds(5));
    if (!s.ok()) {
      // The reader retries; a fresh socket next time, in case this one is stuck.
      if (s.code() == Status::Code::kUnavailable) rpc.reset();
      spdlog::warn("[{}] {} for {}: {}", o_.host_id, input ? "input answer" : "log chunk", job_id, s.message());
    }
  };
  if (Status s = sub->RunUntil(stop_, on_change); !s.ok()) {
    spdlog::error("[{}] log reads: {} (rv logs cannot read this host's logs)", o_.host_id, s.message());
  }
}

}  // namespace rv::strider
