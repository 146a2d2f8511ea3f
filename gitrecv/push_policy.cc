#include "gitrecv/push_policy.h"

#include <sstream>

#include "common/names.h"

namespace rv::gitrecv {
namespace {

bool IsOid(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<RefUpdate>> ParseRefUpdates(const std::string& text, size_t max_lines) {
  std::vector<RefUpdate> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (out.size() >= max_lines) return Status::Invalid("too many refs in one push");
    std::istringstream l(line);
    RefUpdate u;
    std::string extra;
    if (!(l >> u.old_oid >> u.new_oid >> u.ref) || (l >> extra) || !IsOid(u.old_oid) || !IsOid(u.new_oid) ||
        u.ref.size() > 1024) {
      return Status::Invalid("cannot read the ref update " + names::Quote(line, 120));
    }
    out.push_back(std::move(u));
  }
  return out;
}

Result<RefUpdate> CheckRefUpdates(const std::vector<RefUpdate>& updates, const std::string& deploy_branch) {
  const std::string want = "refs/heads/" + deploy_branch;
  const std::string how = "only branch " + deploy_branch + " deploys; push it with: git push <remote> HEAD:" + deploy_branch;
  if (updates.empty()) return Status::Invalid("nothing was pushed; " + how);
  for (const auto& u : updates) {
    if (u.ref != want) return Status::Invalid("refusing " + names::Quote(u.ref, 120) + ": " + how);
  }
  if (updates.size() != 1) return Status::Invalid("refusing several updates of " + want + " in one push");
  const RefUpdate& u = updates.front();
  if (u.new_oid == kZeroOid) {
    return Status::Invalid("refusing to delete branch " + deploy_branch + ": it is what the app runs");
  }
  return u;
}

}  // namespace rv::gitrecv
