// Reading a job's log from wherever its host is (`rv logs`, docs/CONTAINERS.md
// "Logs"): sauron relays, the job's host reads its own file.
//
//   rv      --DEALER--> sauron  admin.log_read  -> LogReadStarted (a token)
//   sauron  --PUB-----> strider to/<host>/log.wanted (a LogWant in the event's detail)
//   strider --DEALER--> sauron  host.log_chunk  (the chunk, for the token)
//   rv      --DEALER--> sauron  admin.log_fetch -> LogChunk (ready, or not yet)
//
// Contract:
//  * Only the admin reads logs; only the host the token was issued for can
//    deliver its chunk; a chunk is taken once.
//  * A LogCursor says where a reader is: `ino` 0 asks for the last
//    `tail_bytes` of the current file; otherwise the reader had read file
//    `ino` up to `offset`. A chunk returns the cursor to continue from: the
//    rest of a file rotated away is read before the new file (LogFile keeps
//    <path>.1), and `gap` says some of the log was lost between two reads
//    (rotated twice in between, or truncated).
//  * `data` is the log's bytes as written (not text: the reader makes it safe
//    to print), at most LogWant::max_bytes (kMaxLogChunkBytes).
#pragma once

#include "common/msg/types.h"

namespace rv::msg {

inline constexpr int64_t kMaxLogChunkBytes = 1 << 20;

struct LogCursor {
  uint64_t ino = 0;    // 0: start at the tail
  int64_t offset = 0;  // bytes of file `ino` already read
  RV_DEFINE_MAP(ino, offset);
};

struct LogReadRequest {
  static constexpr const char* kType = "admin.log_read";
  std::string job_id;
  LogCursor cursor;
  int64_t tail_bytes = 64 * 1024;  // with cursor.ino == 0
  int64_t max_bytes = 256 * 1024;  // at most kMaxLogChunkBytes
  RV_DEFINE_MAP(job_id, cursor, tail_bytes, max_bytes);
};

struct LogReadStarted {
  static constexpr const char* kType = "log_read_started";
  std::string token;
  std::string host_id;  // the host asked
  RV_DEFINE_MAP(token, host_id);
};

// Sauron -> the job's host, encoded (msg::Encode) into the detail of a
// "log.wanted" event published only under to/<host>/log.wanted.
struct LogWant {
  static constexpr const char* kType = "log_want";
  std::string token;
  std::string job_id;
  LogCursor cursor;
  int64_t tail_bytes = 0;
  int64_t max_bytes = 0;
  RV_DEFINE_MAP(token, job_id, cursor, tail_bytes, max_bytes);
};

struct LogChunk {
  static constexpr const char* kType = "log_chunk";
  bool ready = false;   // admin.log_fetch: false = the host has not answered yet
  std::string error;    // the host could not read it (no such log...): the rest is empty
  std::string data;
  LogCursor next;       // where to continue
  bool gap = false;     // some of the log was lost between the previous chunk and this one
  RV_DEFINE_MAP(ready, error, data, next, gap);
};

struct HostLogChunk {
  static constexpr const char* kType = "host.log_chunk";
  std::string host_id;
  std::string token;
  LogChunk chunk;
  RV_DEFINE_MAP(host_id, token, chunk);
};

struct LogFetchRequest {
  static constexpr const char* kType = "admin.log_fetch";
  std::string token;
  RV_DEFINE_MAP(token);
};

}  // namespace rv::msg
