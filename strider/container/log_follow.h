// FollowLog: streams a container's console log the way `rv logs -f` shows it:
// the last `tail_bytes` first, then whatever is appended, across rotations
// (when console.log is renamed to console.log.1 the rest of the old file is
// read to its end, then the new file from its start). Returns when
// should_stop() says so; sink gets raw chunks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace rv::container {

Status FollowLog(const std::string& path, int64_t tail_bytes, const std::function<void(const std::string&)>& sink,
                 const std::function<bool()>& should_stop, int poll_ms = 100);

}  // namespace rv::container
