#include "builder/build_reporter.h"

#include <cstdio>

#include "common/clock.h"
#include "common/msg/releases.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"

namespace rv::builder {

std::optional<std::string> OutputBatcher::Take(int64_t now_ms, bool force) {
  if (pending_.empty()) return std::nullopt;
  if (!force && pending_.size() < kFlushBytes && now_ms - last_ms_ < kFlushMs) return std::nullopt;
  last_ms_ = now_ms;
  size_t n = std::min(pending_.size(), kMaxChunk);
  std::string out = pending_.substr(0, n);
  pending_.erase(0, n);
  return out;
}

Result<std::unique_ptr<BuildReporter>> BuildReporter::Start(const ReporterOptions& o) {
  auto key = transport::LoadKeypair(o.key_file);
  if (!key.ok()) return Status::FromCode(key.status().code(), "--report-key: " + key.status().message());
  if (o.server_key.size() != 40) return Status::Invalid("--report-server-key must be a 40-char Z85 key");
  std::unique_ptr<BuildReporter> r(new BuildReporter(o));
  r->thread_ = std::thread(&BuildReporter::Run, r.get(), key->public_key, key->secret_key);
  return r;
}

BuildReporter::~BuildReporter() { Close(); }

void BuildReporter::Add(const std::string& line) {
  std::lock_guard<std::mutex> l(mu_);
  if (closing_) return;
  batcher_.Add(line);
  cv_.notify_one();
}

void BuildReporter::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void BuildReporter::Run(std::string public_key, std::string secret_key) {
  zmq::context_t ctx = transport::MakeContext(1, 16);
  transport::RpcClient rpc(ctx, o_.sauron, transport::CurveKeypair{public_key, secret_key}, o_.server_key);
  bool warned = false;
  int64_t close_deadline = 0;
  for (;;) {
    std::optional<std::string> chunk;
    bool closing;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(OutputBatcher::kFlushMs / 2));
      closing = closing_;
      chunk = batcher_.Take(MonotonicMs(), closing);
      if (closing && !chunk) break;
    }
    if (closing && close_deadline == 0) close_deadline = MonotonicMs() + o_.close_timeout.count();
    if (!chunk) continue;
    msg::BuildAppend a{o_.app, o_.build, *chunk, o_.job_id};
    auto timeout = std::chrono::milliseconds(5000);
    if (close_deadline != 0) {
      int64_t left = close_deadline - MonotonicMs();
      if (left <= 0) break;
      timeout = std::chrono::milliseconds(std::min<int64_t>(left, 5000));
    }
    Status s = rpc.Call(a, timeout);
    if (!s.ok() && !warned) {
      warned = true;
      fprintf(stderr, "builder: build output not recorded in sauron: %s\n", s.message().c_str());
    }
  }
  rpc.socket().set(zmq::sockopt::linger, 0);
}

}  // namespace rv::builder
