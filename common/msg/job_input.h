// A one-off's standard input, from `rv run` to the command (docs/CONTAINERS.md
// "Console input"): rv sends it in numbered chunks, sauron relays each to the
// job's host as it relays log reads (common/msg/logs.h), the host writes it
// into the container's stdin and answers through the same mailbox.
//
//   rv      --DEALER--> sauron  admin.job_input  -> LogReadStarted (a token)
//   sauron  --PUB-----> strider to/<host>/input.wanted (an InputWant in the detail)
//   strider --DEALER--> sauron  host.log_chunk   (the answer: a LogChunk with
//                                                 no data, `error` if not written,
//                                                 starting with kInputBusy when
//                                                 it may be sent again later;
//                                                 next.offset = the chunk's seq)
//   rv      --DEALER--> sauron  admin.log_fetch  -> that LogChunk (ready, or not yet)
//
// Contract:
//  * Only the admin sends input, only to a console job (rv run's one-off),
//    placed on a host that is up.
//  * Chunks are numbered from 1; the host writes chunk N only after N-1, and
//    answers a chunk it already wrote as written, so a sender resends a chunk
//    whose answer it did not get (a lost PUB) without the command reading it
//    twice. `eof` closes the command's stdin after the chunk's data.
//  * `data` is bytes as read (not text), at most kMaxInputChunkBytes. It is
//    relayed, never recorded: not in sauron's database or events, not logged.
#pragma once

#include "common/msg/types.h"

namespace rv::msg {

inline constexpr int64_t kMaxInputChunkBytes = 16 * 1024;
// An answer's error starts with this when the command has not read its
// earlier input yet: the chunk was not written, send it again.
inline constexpr char kInputBusy[] = "busy: ";

struct JobInputRequest {
  static constexpr const char* kType = "admin.job_input";
  std::string job_id;
  int64_t seq = 0;  // 1, 2, ...
  std::string data;
  bool eof = false;
  RV_DEFINE_MAP(job_id, seq, data, eof);
};

// Sauron -> the job's host, encoded (msg::Encode) into the detail of an
// "input.wanted" event published only under to/<host>/input.wanted.
struct InputWant {
  static constexpr const char* kType = "input_want";
  std::string token;
  std::string job_id;
  int64_t seq = 0;
  std::string data;
  bool eof = false;
  RV_DEFINE_MAP(token, job_id, seq, data, eof);
};

}  // namespace rv::msg
