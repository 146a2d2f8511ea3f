// The API handlers of users, keys, apps and access (admin.user_*, admin.key_*,
// admin.app_*, admin.access_*, git.*), kept out of api_server.cc: it only
// asks IsAccountsType() and hands the request here.
//
// Contract:
//  * admin.* comes only from "admin" (api_server checks the role);
//    git.* only from "gitrecv" or "admin" (checked here; a refusal goes
//    through `deny`, which records it like every other refusal).
//  * Every change that succeeds appends one event (account.*, app.*,
//    access.*) to the Store's event log; a failed change appends none.
//    Key blobs never go into events or logs, only fingerprints.
//  * Not thread-safe: the daemon's loop owns it.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "common/counters.h"
#include "common/msg/envelope.h"
#include "common/status.h"
#include "sauron/accounts.h"
#include "sauron/store.h"

namespace rv::sauron {

const std::set<std::string>& AccountsTypes();
inline bool IsAccountsType(const std::string& type) { return AccountsTypes().count(type) > 0; }

// The ZAP users that may ask git.* (the git server's role; admin until pods
// have a gitrecv key).
bool MayAskGit(const std::string& user);

// Handles one request of AccountsTypes(); returns the reply bytes.
// `accounts` null: refused as Unavailable.
Result<std::string> DispatchAccounts(Accounts* accounts, Store& store, Counters& counters, const std::string& user,
                                     const msg::Envelope& env, int64_t now_ms,
                                     const std::function<Status(const std::string&)>& deny);

}  // namespace rv::sauron
