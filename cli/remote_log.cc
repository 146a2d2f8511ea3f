#include "cli/remote_log.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/clock.h"

namespace rv::cli {

Result<msg::LogChunk> RemoteLog::Step() {
  msg::LogReadRequest req;
  req.job_id = job_id_;
  req.cursor = cursor_;
  req.tail_bytes = tail_bytes_;
  // The first step is the tail, in one piece; then steps of max_bytes.
  req.max_bytes = std::clamp<int64_t>(cursor_.ino == 0 ? tail_bytes_ : max_bytes_, 1, msg::kMaxLogChunkBytes);
  std::string host;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto started = calls_.read(req);
    if (!started.ok()) return started.status();
    host = started->host_id;
    const int64_t deadline = calls_.now_ms() + kAttemptMs;
    for (int64_t wait = 2;; wait = std::min(wait * 2, kMaxPollMs)) {
      calls_.sleep_ms(wait);
      auto chunk = calls_.fetch(started->token);
      if (!chunk.ok()) return chunk.status();
      if (chunk->ready) {
        if (!chunk->error.empty()) return Status::NotFound(job_id_ + " on " + host + ": " + chunk->error);
        cursor_ = chunk->next;
        return chunk;
      }
      if (calls_.now_ms() >= deadline) break;  // ask again: the notice may have been lost
    }
  }
  return Status::Unavailable("host " + host + " did not send " + job_id_ + "'s log (asked " +
                             std::to_string(kAttempts) + " times, " + std::to_string(kAttemptMs / 1000) +
                             " s each): is its strider up?");
}

RemoteLog::Calls SauronLogCalls(Client& c) {
  RemoteLog::Calls calls;
  calls.read = [&c](const msg::LogReadRequest& r) -> Result<msg::LogReadStarted> {
    msg::LogReadStarted out;
    if (Status s = c.Call(r, &out); !s.ok()) return s;
    return out;
  };
  calls.fetch = [&c](const std::string& token) -> Result<msg::LogChunk> {
    msg::LogChunk out;
    if (Status s = c.Call(msg::LogFetchRequest{token}, &out); !s.ok()) return s;
    return out;
  };
  calls.now_ms = [] { return MonotonicMs(); };
  calls.sleep_ms = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  return calls;
}

}  // namespace rv::cli
