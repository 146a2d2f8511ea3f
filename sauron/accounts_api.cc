#include "sauron/accounts_api.h"

#include <spdlog/spdlog.h>

#include "common/transport/rpc_client.h"

namespace rv::sauron {

const std::set<std::string>& AccountsTypes() {
  static const std::set<std::string> k = {
      msg::UserAdd::kType,     msg::UserListRequest::kType, msg::KeyAdd::kType,       msg::KeyRemove::kType,
      msg::KeyListRequest::kType, msg::AppCreate::kType,    msg::AppDestroy::kType,   msg::AppListRequest::kType,
      msg::AccessGrant::kType, msg::AccessRevoke::kType,    msg::KeyLookup::kType,    msg::GitAuthorize::kType,
  };
  return k;
}

bool MayAskGit(const std::string& user) { return user == "gitrecv" || user == "admin"; }

Result<std::string> DispatchAccounts(Accounts* accounts, Store& store, Counters& counters, const std::string& user,
                                     const msg::Envelope& env, int64_t now_ms,
                                     const std::function<Status(const std::string&)>& deny) {
  const std::string& type = env.type;
  const uint64_t id = env.req_id;
  if (type.rfind("git.", 0) == 0 && !MayAskGit(user)) return deny(type + " is for the git server only");
  if (accounts == nullptr) return Status::Unavailable("this sauron keeps no accounts");
  auto decode = [&](auto* body) -> Status {
    Status s = msg::DecodeBody(env, body);
    if (!s.ok()) counters.Add("api.malformed");
    return s;
  };
  // Records a change; the change itself is already committed, so a failed
  // event append is logged, not returned as the request's failure.
  auto event = [&](const char* kind, const std::string& detail) {
    counters.Add(kind);
    spdlog::info("{}: {}", kind, detail);
    if (Status s = store.AppendEvent(kind, "", "", 0, detail, now_ms); !s.ok()) {
      spdlog::error("cannot record {} event: {}", kind, s.message());
    }
  };
  auto ok = [&] { return transport::EncodeReply(id, Status::Ok()); };

  if (type == msg::UserAdd::kType) {
    msg::UserAdd b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = accounts->AddUser(b.user, now_ms); !s.ok()) return s;
    event("account.user_add", b.user);
    return ok();
  }
  if (type == msg::UserListRequest::kType) {
    auto u = accounts->Users();
    if (!u.ok()) return u.status();
    return transport::EncodeReplyWith(id, msg::UserListing{std::move(*u)});
  }
  if (type == msg::KeyAdd::kType) {
    msg::KeyAdd b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto k = accounts->AddKey(b.user, b.line, now_ms);
    if (!k.ok()) return k.status();
    event("account.key_add", b.user + " " + k->type + " " + k->fingerprint);
    return transport::EncodeReplyWith(id, *k);
  }
  if (type == msg::KeyRemove::kType) {
    msg::KeyRemove b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = accounts->RemoveKey(b.user, b.fingerprint); !s.ok()) return s;
    event("account.key_remove", b.user + " " + b.fingerprint);
    return ok();
  }
  if (type == msg::KeyListRequest::kType) {
    msg::KeyListRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto k = accounts->Keys(b.user);
    if (!k.ok()) return k.status();
    return transport::EncodeReplyWith(id, msg::KeyListing{std::move(*k)});
  }
  if (type == msg::AppCreate::kType) {
    msg::AppCreate b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto a = accounts->CreateApp(b.env, b.app, b.deploy_branch, now_ms);
    if (!a.ok()) return a.status();
    event("app.create", a->tenant + "/" + a->env + "/" + a->app + " (deploys " + a->deploy_branch + ")");
    return transport::EncodeReplyWith(id, *a);
  }
  if (type == msg::AppDestroy::kType) {
    msg::AppDestroy b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = accounts->DestroyApp(b.app); !s.ok()) return s;
    event("app.destroy", b.app);
    return ok();
  }
  if (type == msg::AppListRequest::kType) {
    msg::AppListRequest b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto a = accounts->Apps(b.env);
    if (!a.ok()) return a.status();
    return transport::EncodeReplyWith(id, msg::AppListing{std::move(*a)});
  }
  if (type == msg::AccessGrant::kType) {
    msg::AccessGrant b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = accounts->Grant(b.user, b.env, b.write, now_ms); !s.ok()) return s;
    event("access.grant", b.user + " " + b.env + (b.write ? " push" : " read-only"));
    return ok();
  }
  if (type == msg::AccessRevoke::kType) {
    msg::AccessRevoke b;
    if (Status s = decode(&b); !s.ok()) return s;
    if (Status s = accounts->Revoke(b.user, b.env); !s.ok()) return s;
    event("access.revoke", b.user + " " + b.env);
    return ok();
  }
  if (type == msg::KeyLookup::kType) {
    msg::KeyLookup b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto o = accounts->LookupKey(b.type, b.blob);
    if (!o.ok()) return o.status();
    return transport::EncodeReplyWith(id, *o);
  }
  if (type == msg::GitAuthorize::kType) {
    msg::GitAuthorize b;
    if (Status s = decode(&b); !s.ok()) return s;
    auto a = accounts->Authorize(b.user, b.app, b.write);
    if (!a.ok()) return a.status();
    counters.Add(a->allowed ? "git.allowed" : "git.refused");
    return transport::EncodeReplyWith(id, *a);
  }
  return Status::Internal("unhandled accounts type " + type);
}

}  // namespace rv::sauron
