// Messages of users, SSH keys, apps and access rights (issue 17).
//
//   rv (CLI) --DEALER--> sauron ROUTER   admin.user_add, admin.user_list,
//       admin.key_add, admin.key_remove, admin.key_list, admin.app_create,
//       admin.app_destroy, admin.app_list, admin.access_grant, admin.access_revoke
//   gitrecv  --DEALER--> sauron ROUTER   git.key_lookup, git.authorize
//
// git.* is answered to the "gitrecv" role, and to "admin" until every pod has
// a gitrecv key. Names follow common/names.h; keys common/ssh_key.h. Every
// change is one event in sauron's event log (kinds account.*, app.*, access.*).
#pragma once

#include "common/msg/types.h"

namespace rv::msg {

struct UserAdd {  // reply: ok; Conflict if the user exists
  static constexpr const char* kType = "admin.user_add";
  std::string user;
  RV_DEFINE_MAP(user);
};
struct UserListRequest {  // reply: UserListing
  static constexpr const char* kType = "admin.user_list";
  std::string unused;
  RV_DEFINE_MAP(unused);
};
struct AccessGrantInfo {
  std::string env;     // TENANT/ENV
  bool write = false;  // false: clone/fetch only
  RV_DEFINE_MAP(env, write);
};
struct UserInfo {
  std::string user;
  int64_t created_ms = 0;
  int64_t keys = 0;
  std::vector<AccessGrantInfo> access;
  RV_DEFINE_MAP(user, created_ms, keys, access);
};
struct UserListing {
  static constexpr const char* kType = "user_listing";
  std::vector<UserInfo> users;
  RV_DEFINE_MAP(users);
};

struct KeyAdd {  // reply: KeyInfo; Conflict if the key belongs to anyone already
  static constexpr const char* kType = "admin.key_add";
  std::string user;
  std::string line;  // the .pub file's line
  RV_DEFINE_MAP(user, line);
};
struct KeyRemove {  // reply: ok; NotFound if the user has no such key
  static constexpr const char* kType = "admin.key_remove";
  std::string user;
  std::string fingerprint;
  RV_DEFINE_MAP(user, fingerprint);
};
struct KeyListRequest {  // reply: KeyListing
  static constexpr const char* kType = "admin.key_list";
  std::string user;
  RV_DEFINE_MAP(user);
};
struct KeyInfo {
  static constexpr const char* kType = "key_info";
  std::string user;
  std::string type;
  std::string fingerprint;
  std::string comment;
  int64_t created_ms = 0;
  RV_DEFINE_MAP(user, type, fingerprint, comment, created_ms);
};
struct KeyListing {
  static constexpr const char* kType = "key_listing";
  std::vector<KeyInfo> keys;
  RV_DEFINE_MAP(keys);
};

struct AppCreate {  // reply: AppInfo; Conflict if it exists
  static constexpr const char* kType = "admin.app_create";
  std::string env;                    // TENANT/ENV
  std::string app;
  std::string deploy_branch = "main"; // main or master
  RV_DEFINE_MAP(env, app, deploy_branch);
};
struct AppDestroy {  // reply: ok; NotFound if there is no such app
  static constexpr const char* kType = "admin.app_destroy";
  std::string app;  // TENANT/ENV/APP
  RV_DEFINE_MAP(app);
};
struct AppListRequest {  // reply: AppListing
  static constexpr const char* kType = "admin.app_list";
  std::string env;  // "" = all
  RV_DEFINE_MAP(env);
};
struct AppInfo {
  static constexpr const char* kType = "app_info";
  std::string tenant, env, app;
  std::string deploy_branch;
  int64_t created_ms = 0;
  RV_DEFINE_MAP(tenant, env, app, deploy_branch, created_ms);
};
struct AppListing {
  static constexpr const char* kType = "app_listing";
  std::vector<AppInfo> apps;
  RV_DEFINE_MAP(apps);
};

struct AccessGrant {  // reply: ok (a second grant replaces the first's write flag)
  static constexpr const char* kType = "admin.access_grant";
  std::string user;
  std::string env;  // TENANT/ENV
  bool write = true;
  RV_DEFINE_MAP(user, env, write);
};
struct AccessRevoke {  // reply: ok; NotFound if there was no grant
  static constexpr const char* kType = "admin.access_revoke";
  std::string user;
  std::string env;
  RV_DEFINE_MAP(user, env);
};

struct KeyLookup {  // reply: KeyOwner; NotFound for a key nobody enrolled
  static constexpr const char* kType = "git.key_lookup";
  std::string type;
  std::string blob;  // base64, as sshd gives it (%k)
  RV_DEFINE_MAP(type, blob);
};
struct KeyOwner {
  static constexpr const char* kType = "key_owner";
  std::string user;
  std::string fingerprint;
  RV_DEFINE_MAP(user, fingerprint);
};
struct GitAuthorize {  // reply: GitAccess (a refusal is allowed=false with a reason, not an error)
  static constexpr const char* kType = "git.authorize";
  std::string user;
  std::string app;     // TENANT/ENV/APP
  bool write = false;  // push (true) or clone/fetch
  RV_DEFINE_MAP(user, app, write);
};
struct GitAccess {
  static constexpr const char* kType = "git_access";
  bool allowed = false;
  std::string reason;         // why not, for the pusher's terminal
  std::string deploy_branch;  // the app's, when it exists and access is allowed
  RV_DEFINE_MAP(allowed, reason, deploy_branch);
};

}  // namespace rv::msg
