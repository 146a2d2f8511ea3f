// LogRelay: sauron's mailbox for log reads (common/msg/logs.h). admin.log_read
// opens a want for a job's host and gets a token; the host delivers its chunk
// for that token (host.log_chunk); admin.log_fetch takes it, once.
//
// Contract:
//  * Bounded: at most kMaxOpen wants at once (Unavailable past it), each
//    forgotten kTtlMs after it was opened whether or not it was taken: a
//    reader that went away or a host that never answers leaves nothing behind.
//    A chunk is at most msg::kMaxLogChunkBytes, so the relay holds at most
//    kMaxOpen of them.
//  * Only the host a want was opened for may deliver it (Denied otherwise);
//    a second delivery, an unknown or expired token is NotFound.
//  * Tokens are random (libsodium), so one reader cannot take another's chunk
//    by guessing.
//  * Pure bookkeeping: time is passed in, nothing is sent. Not thread-safe:
//    sauron's loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/msg/logs.h"
#include "common/status.h"

namespace rv::sauron {

class LogRelay {
 public:
  static constexpr size_t kMaxOpen = 256;
  static constexpr int64_t kTtlMs = 10'000;

  // A new want for `host_id`; the token to deliver and fetch it with.
  Result<std::string> Open(const std::string& host_id, int64_t now_ms);
  // `host_id` answers `token`.
  Status Deliver(const std::string& host_id, const std::string& token, msg::LogChunk chunk, int64_t now_ms);
  // The chunk once delivered (then forgotten); nullopt while the host has not answered.
  Result<std::optional<msg::LogChunk>> Take(const std::string& token, int64_t now_ms);

  size_t open() const { return wants_.size(); }

 private:
  struct Want {
    std::string host_id;
    int64_t opened_ms = 0;
    std::optional<msg::LogChunk> chunk;
  };
  void Expire(int64_t now_ms);

  std::map<std::string, Want> wants_;  // by token
};

}  // namespace rv::sauron
