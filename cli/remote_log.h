// RemoteLog: one job's log read through sauron (common/msg/logs.h), a step at
// a time: `rv logs` and `rv logs --router` on any machine that holds the
// admin key, wherever the job's host is.
//
// Contract:
//  * Step() asks sauron for the next chunk from where the last one ended
//    (the first: the last `tail_bytes`, at most msg::kMaxLogChunkBytes; then
//    steps of at most `max_bytes`), then fetches it until the host has
//    answered: a short wait first, growing to kMaxPollMs.
//  * A host that has not answered within kAttemptMs (its notice lost on a
//    reconnect, its strider restarting) is asked again, up to kAttempts times;
//    then Step() is Unavailable, naming the host. Nothing is skipped: the
//    cursor moves only with a chunk received.
//  * A chunk's `error` (no log yet) is returned as NotFound; its `gap` is
//    passed on for the caller to say.
//  * I/O and time are injected (Calls), so tests drive it with fakes. Not
//    thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cli/client.h"
#include "common/msg/logs.h"
#include "common/status.h"

namespace rv::cli {

class RemoteLog {
 public:
  static constexpr int64_t kAttemptMs = 2000;
  static constexpr int kAttempts = 3;
  static constexpr int64_t kMaxPollMs = 100;

  struct Calls {
    std::function<Result<msg::LogReadStarted>(const msg::LogReadRequest&)> read;
    std::function<Result<msg::LogChunk>(const std::string& token)> fetch;
    std::function<int64_t()> now_ms;
    std::function<void(int64_t ms)> sleep_ms;
  };

  RemoteLog(Calls calls, std::string job_id, int64_t tail_bytes, int64_t max_bytes = 256 * 1024)
      : calls_(std::move(calls)), job_id_(std::move(job_id)), tail_bytes_(tail_bytes), max_bytes_(max_bytes) {}

  Result<msg::LogChunk> Step();
  const std::string& job_id() const { return job_id_; }

 private:
  Calls calls_;
  std::string job_id_;
  int64_t tail_bytes_, max_bytes_;
  msg::LogCursor cursor_;
};

// Calls over `c` (admin.log_read, admin.log_fetch) and the real clock.
RemoteLog::Calls SauronLogCalls(Client& c);

}  // namespace rv::cli
