// Accounts: sauron's users, their SSH public keys, apps (TENANT/ENV/APP) and
// which users may push to or read which environment (issue 17).
//
// Contract:
//  * Its own SQLite connection to sauron's database file (tables users,
//    ssh_keys, apps, access). Every change is one transaction; the caller
//    (api_accounts.cc) records it in the event log.
//  * Names are checked with common/names.h, keys with common/ssh_key.h,
//    before anything is written. A key (by fingerprint) belongs to one user.
//  * Removing a user removes nothing else silently: RemoveUser is not offered;
//    apps:destroy deletes the app's record only (its repo stays on the git
//    server's disk until removed there).
//  * DecideGitAccess is the whole authorization rule, pure, for unit tests.
//  * Not thread-safe: the daemon's loop owns it.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/msg/accounts.h"
#include "common/names.h"
#include "common/status.h"

namespace rv::sauron {

// May `user` push (`write`) or clone `app`? `grant_write` is the user's grant
// on the app's environment (nullopt: none). Apps of an environment the user
// has no grant on are refused alike whether or not they exist, so a user
// learns nothing about other tenants.
msg::GitAccess DecideGitAccess(const std::string& user, const names::AppRef& app, bool user_exists,
                               std::optional<bool> grant_write, const std::optional<msg::AppInfo>& found, bool write);

class Accounts {
 public:
  static constexpr size_t kMaxKeysPerUser = 64;

  static Result<std::unique_ptr<Accounts>> Open(const std::string& db_path);
  ~Accounts();
  Accounts(const Accounts&) = delete;
  Accounts& operator=(const Accounts&) = delete;

  Status AddUser(const std::string& user, int64_t now_ms);
  Result<std::vector<msg::UserInfo>> Users();
  Result<msg::KeyInfo> AddKey(const std::string& user, const std::string& pub_line, int64_t now_ms);
  Status RemoveKey(const std::string& user, const std::string& fingerprint);
  Result<std::vector<msg::KeyInfo>> Keys(const std::string& user);
  Result<msg::AppInfo> CreateApp(const std::string& env_ref, const std::string& app, const std::string& branch,
                                 int64_t now_ms);
  Status DestroyApp(const std::string& app_ref);
  Result<std::vector<msg::AppInfo>> Apps(const std::string& env_ref);
  Status Grant(const std::string& user, const std::string& env_ref, bool write, int64_t now_ms);
  Status Revoke(const std::string& user, const std::string& env_ref);

  // The git server's questions.
  Result<msg::KeyOwner> LookupKey(const std::string& type, const std::string& blob_base64);
  Result<msg::GitAccess> Authorize(const std::string& user, const std::string& app_ref, bool write);

 private:
  explicit Accounts(sqlite3* db) : db_(db) {}
  Status Init();
  Result<bool> UserExists(const std::string& user);
  Result<std::optional<msg::AppInfo>> FindApp(const names::AppRef& r);

  sqlite3* db_;
};

}  // namespace rv::sauron
