// The requests of users, SSH keys, apps and access: the operator's
// admin.user_* / key_* / app_* / access_* and the git server's git.*.
//
// Every change that succeeds appends one event (account.*, app.*, access.*);
// a failed change appends none. Key blobs never go into events or logs, only
// fingerprints.
#include <spdlog/spdlog.h>

#include "common/msg/accounts.h"
#include "sauron/accounts.h"
#include "sauron/api_requests.h"

namespace rv::sauron {
namespace {

using G = RequestTable::Grouping;

Status HasAccounts(const ApiDeps& d) {
  return d.accounts ? Status::Ok() : Status::Unavailable("this sauron keeps no accounts");
}

// The change is already committed: a failed event append is logged, not
// returned as the request's failure.
void Record(ApiCall& c, const char* kind, const std::string& detail) {
  c.deps.counters->Add(kind);
  spdlog::info("{}: {}", kind, detail);
  if (Status s = c.deps.store->AppendEvent(kind, "", "", 0, detail, c.now_ms); !s.ok()) {
    spdlog::error("cannot record {} event: {}", kind, s.message());
  }
}

Result<std::string> UserAdd(ApiCall& c, msg::UserAdd& b) {
  if (Status s = c.deps.accounts->AddUser(b.user, c.now_ms); !s.ok()) return s;
  Record(c, "account.user_add", b.user);
  return std::string();
}

Result<std::string> UserList(ApiCall& c, msg::UserListRequest&) {
  auto u = c.deps.accounts->Users();
  if (!u.ok()) return u.status();
  return Answer(msg::UserListing{std::move(*u)});
}

Result<std::string> KeyAdd(ApiCall& c, msg::KeyAdd& b) {
  auto k = c.deps.accounts->AddKey(b.user, b.line, c.now_ms);
  if (!k.ok()) return k.status();
  Record(c, "account.key_add", b.user + " " + k->type + " " + k->fingerprint);
  return Answer(*k);
}

Result<std::string> KeyRemove(ApiCall& c, msg::KeyRemove& b) {
  if (Status s = c.deps.accounts->RemoveKey(b.user, b.fingerprint); !s.ok()) return s;
  Record(c, "account.key_remove", b.user + " " + b.fingerprint);
  return std::string();
}

Result<std::string> KeyList(ApiCall& c, msg::KeyListRequest& b) {
  auto k = c.deps.accounts->Keys(b.user);
  if (!k.ok()) return k.status();
  return Answer(msg::KeyListing{std::move(*k)});
}

Result<std::string> AppCreate(ApiCall& c, msg::AppCreate& b) {
  auto a = c.deps.accounts->CreateApp(b.env, b.app, b.deploy_branch, c.now_ms);
  if (!a.ok()) return a.status();
  Record(c, "app.create", a->tenant + "/" + a->env + "/" + a->app + " (deploys " + a->deploy_branch + ")");
  // Its default name and certificate (docs/PROXY.md); a failure leaves the app.
  if (Status s = AddDefaultName(c.deps, names::AppRef{a->tenant, a->env, a->app}, c.now_ms); !s.ok()) {
    spdlog::error("default name of {}/{}/{}: {}", a->tenant, a->env, a->app, s.message());
  }
  return Answer(*a);
}

Result<std::string> AppDestroy(ApiCall& c, msg::AppDestroy& b) {
  if (Status s = c.deps.accounts->DestroyApp(b.app); !s.ok()) return s;
  Record(c, "app.destroy", b.app);
  if (auto ref = names::ParseAppRef(b.app); ref.ok()) RemoveAppNames(c.deps, *ref, c.now_ms);
  return std::string();
}

Result<std::string> AppList(ApiCall& c, msg::AppListRequest& b) {
  auto a = c.deps.accounts->Apps(b.env);
  if (!a.ok()) return a.status();
  return Answer(msg::AppListing{std::move(*a)});
}

Result<std::string> AccessGrant(ApiCall& c, msg::AccessGrant& b) {
  if (Status s = c.deps.accounts->Grant(b.user, b.env, b.write, c.now_ms); !s.ok()) return s;
  Record(c, "access.grant", b.user + " " + b.env + (b.write ? " push" : " read-only"));
  return std::string();
}

Result<std::string> AccessRevoke(ApiCall& c, msg::AccessRevoke& b) {
  if (Status s = c.deps.accounts->Revoke(b.user, b.env); !s.ok()) return s;
  Record(c, "access.revoke", b.user + " " + b.env);
  return std::string();
}

Result<std::string> KeyLookup(ApiCall& c, msg::KeyLookup& b) {
  auto o = c.deps.accounts->LookupKey(b.type, b.blob);
  if (!o.ok()) return o.status();
  return Answer(*o);
}

Result<std::string> Authorize(ApiCall& c, msg::GitAuthorize& b) {
  auto a = c.deps.accounts->Authorize(b.user, b.app, b.write);
  if (!a.ok()) return a.status();
  c.deps.counters->Add(a->allowed ? "git.allowed" : "git.refused");
  return Answer(*a);
}

}  // namespace

void RegisterAccountsRequests(RequestTable& t) {
  const RoleSet admin{Role::kAdmin};
  // The git server asks who a key is and what it may do; the operator may ask
  // the same to debug a refusal.
  const RoleSet git{Role::kGitrecv, Role::kAdmin};
  t.On<msg::UserAdd>(admin, G::kAlone, UserAdd, HasAccounts);
  t.On<msg::UserListRequest>(admin, G::kAlone, UserList, HasAccounts);
  t.On<msg::KeyAdd>(admin, G::kAlone, KeyAdd, HasAccounts);
  t.On<msg::KeyRemove>(admin, G::kAlone, KeyRemove, HasAccounts);
  t.On<msg::KeyListRequest>(admin, G::kAlone, KeyList, HasAccounts);
  t.On<msg::AppCreate>(admin, G::kAlone, AppCreate, HasAccounts);
  t.On<msg::AppDestroy>(admin, G::kAlone, AppDestroy, HasAccounts);
  t.On<msg::AppListRequest>(admin, G::kAlone, AppList, HasAccounts);
  t.On<msg::AccessGrant>(admin, G::kAlone, AccessGrant, HasAccounts);
  t.On<msg::AccessRevoke>(admin, G::kAlone, AccessRevoke, HasAccounts);
  t.On<msg::KeyLookup>(git, G::kAlone, KeyLookup, HasAccounts);
  t.On<msg::GitAuthorize>(git, G::kAlone, Authorize, HasAccounts);
}

}  // namespace rv::sauron
