// ReadLogChunk: the next piece of a job's log for a reader at `cursor`
// (common/msg/logs.h), read from this host's files the way FollowLog reads
// them locally (strider/container/log_follow.h), but one bounded step at a
// time, so a remote reader can follow a log through sauron.
//
// Contract:
//  * cursor.ino == 0: the last min(tail_bytes, max_bytes) bytes of `path`.
//  * cursor.ino is `path`'s file: what was appended since cursor.offset, at
//    most max_bytes. A file shorter than the offset was truncated: read from
//    its start, with `gap`.
//  * cursor.ino is another file: `path` was rotated. If `path`.1 is that file
//    the rest of it comes first (the cursor moves to `path`'s start once it is
//    read to its end); else it was rotated away (`gap`) and `path` is read
//    from its start.
//  * A log that does not exist (yet) is `error`, not a failure of the caller.
//  * Reads only; thread-safe (no shared state).
//
// LogPathOfJob: where a job's log is on this host: its container's console
// log when it has one, else the plain process's log file.
#pragma once

#include <cstdint>
#include <string>

#include "common/msg/logs.h"

namespace rv::strider {

msg::LogChunk ReadLogChunk(const std::string& path, const msg::LogCursor& cursor, int64_t tail_bytes,
                           int64_t max_bytes);

std::string LogPathOfJob(const std::string& data_dir, const std::string& container_state_dir,
                         const std::string& job_id);

}  // namespace rv::strider
