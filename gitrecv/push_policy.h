// PushPolicy: which ref updates of a push may deploy (the pre-receive hook's
// decision, pure).
//
// Contract:
//  * A push deploys exactly one update: refs/heads/<deploy branch> to a new
//    commit. Any other ref (another branch, a tag), a deletion, or several
//    refs at once refuse the whole push, with a message that names the branch
//    that deploys and how to push it.
//  * Object names must be 40 hex digits (SHA-1 repos; git's input otherwise
//    is refused, never passed to a command).
//  * Pure, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace rv::gitrecv {

struct RefUpdate {
  std::string old_oid, new_oid, ref;
};

inline constexpr const char* kZeroOid = "0000000000000000000000000000000000000000";
inline constexpr const char* kEmptyTreeOid = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

// Parses the hook's stdin ("OLD NEW REF" lines); at most `max_lines`.
Result<std::vector<RefUpdate>> ParseRefUpdates(const std::string& text, size_t max_lines = 1000);

// The one update that deploys, or why the push is refused.
Result<RefUpdate> CheckRefUpdates(const std::vector<RefUpdate>& updates, const std::string& deploy_branch);

}  // namespace rv::gitrecv
