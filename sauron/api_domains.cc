// The requests of names and certificates (docs/PROXY.md): a proxy host's
// host.proxy_certs, the edge's edge.routes, and the operator's
// admin.domain_* / admin.cert* . Every change of an environment's names or
// certificates appends one "domains.changed" event (detail: the env), so its
// proxies and the edge refresh at once. Keys never go into events or logs.
#include <spdlog/spdlog.h>

#include <set>

#include "common/crypto/sealed_box.h"
#include "common/event_kinds.h"
#include "common/msg/proxy.h"
#include "common/states.h"
#include "sauron/accounts.h"
#include "sauron/api_requests.h"
#include "sauron/domain_names.h"
#include "sauron/domain_store.h"
#include "sauron/pod_ca.h"
#include "sauron/proxy_views.h"

namespace rv::sauron {
namespace {

using G = RequestTable::Grouping;

Status HasDomains(const ApiDeps& d) {
  return d.domains ? Status::Ok() : Status::Unavailable("this sauron keeps no domains");
}

void Changed(const ApiDeps& d, const std::string& env, int64_t now_ms) {
  d.counters->Add(event_kind::kDomainsChanged);
  if (Status s = d.store->AppendEvent(event_kind::kDomainsChanged, "", "", 0, env, now_ms); !s.ok()) {
    spdlog::error("cannot record {} for {}: {}", event_kind::kDomainsChanged, env, s.message());
  }
}

// Issues `row`'s certificate from the pod CA and stores it.
Status Issue(const ApiDeps& d, const DomainRow& row, int64_t now_ms) {
  if (d.pod_ca == nullptr) return Status::Unavailable("sauron has no pod CA (--pod-ca)");
  auto c = d.pod_ca->Issue(row.name, now_ms);
  if (!c.ok()) return c.status();
  Status s = d.domains->PutCert(row.name, c->cert_pem, c->key_pem, c->not_after_ms, false, c->issuer, now_ms);
  crypto::Wipe(c->key_pem);
  if (s.ok()) {
    d.counters->Add("certs.issued");
    spdlog::info("certificate for {} ({}) issued by the pod CA, valid until {} ms", row.name, row.app, c->not_after_ms);
  }
  return s;
}

msg::DomainInfo Info(const DomainRow& r) {
  msg::DomainInfo i;
  i.name = r.name;
  i.app = r.app;
  i.is_default = r.is_default;
  i.issuer = r.cert_pem.empty() ? "" : (r.custom ? "custom" : "pod-CA");
  i.subject = r.issuer;
  i.not_after_ms = r.not_after_ms;
  return i;
}

Result<msg::DomainListing> Listing(const ApiDeps& d, const std::string& app) {
  auto rows = d.domains->List(app);
  if (!rows.ok()) return rows.status();
  msg::DomainListing l;
  for (const auto& r : *rows) l.domains.push_back(Info(r));
  return l;
}

// The app must exist (when sauron keeps accounts).
Result<names::AppRef> ExistingApp(const ApiDeps& d, const std::string& ref) {
  auto app = names::ParseAppRef(ref);
  if (!app.ok()) return app.status();
  if (d.accounts == nullptr) return app;
  auto apps = d.accounts->Apps(app->EnvRef());
  if (!apps.ok()) return apps.status();
  for (const auto& a : *apps) {
    if (a.app == app->app) return app;
  }
  return Status::NotFound("no app " + app->ToString() + " (rv apps:create first)");
}

Result<std::string> ProxyCerts(ApiCall& c, msg::ProxyCertsRequest& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  const auto placed = c.deps.store->JobsOfEnv(b.env, job_state::kPlaced);
  if (auto why = ProxyCertsRefusal(c.user, b.env, placed)) return c.Deny(*why);
  const msg::HostRecord* host = c.deps.store->FindHost(c.user);
  if (host == nullptr) return Status::NotFound("host " + Clean(c.user) + " is not enrolled");
  auto pk = crypto::DecodeZ85Key(host->public_key);
  if (!pk.ok()) return Status::Internal("host key: " + pk.status().message());
  auto rows = c.deps.domains->ForEnv(b.env);
  if (!rows.ok()) return rows.status();
  msg::ProxyCerts out;
  out.env = b.env;
  out.version = CertsVersion(*rows);
  if (b.known_version != 0 && b.known_version == out.version) {
    out.unchanged = true;  // the host holds this set: nothing to seal
    c.deps.counters->Add("certs.unchanged", 1);
    return Answer(out);
  }
  for (const auto& r : *rows) {
    if (r.cert_pem.empty()) continue;
    auto key = c.deps.domains->Key(r.name);
    if (!key.ok()) {
      spdlog::error("certificate of {} left out for {}: {}", r.name, c.user, key.status().message());
      continue;
    }
    auto sealed = crypto::Seal(*pk, *key);
    crypto::Wipe(*key);
    if (!sealed.ok()) return sealed.status();
    out.entries.push_back(msg::ProxyCertEntry{r.name, r.app, r.cert_pem, std::move(*sealed), r.not_after_ms, r.custom});
  }
  c.deps.counters->Add("certs.delivered", static_cast<int64_t>(out.entries.size()));
  return Answer(out);
}

Result<std::string> EdgeRoutes(ApiCall& c, msg::EdgeRoutesRequest&) {
  auto names = c.deps.domains->List();
  if (!names.ok()) return names.status();
  // Only the env proxies, from memory: not every placed job of the pod.
  const auto proxies = c.deps.store->JobsOfKind(kProxyJobKind, job_state::kPlaced);
  return Answer(BuildEdgeRoutes(*names, proxies, c.deps.store->Hosts()));
}

Result<std::string> DomainAdd(ApiCall& c, msg::DomainAdd& b) {
  auto app = ExistingApp(c.deps, b.app);
  if (!app.ok()) return app.status();
  if (Status s = CheckCustomName(b.name, *app, c.deps.pod_domain); !s.ok()) return s;
  bool is_default = b.name == DefaultName(*app, c.deps.pod_domain);
  auto added = c.deps.domains->AddName(b.name, *app, is_default, c.now_ms);
  if (!added.ok()) return added.status();
  if (!*added) return std::string();
  spdlog::info("domain.add {} -> {}", b.name, app->ToString());
  if (auto row = c.deps.domains->Find(b.name); row.ok() && *row && c.deps.pod_ca) {
    if (Status s = Issue(c.deps, **row, c.now_ms); !s.ok()) {
      spdlog::error("cannot issue a certificate for {}: {}", b.name, s.message());
    }
  }
  Changed(c.deps, app->EnvRef(), c.now_ms);
  return std::string();
}

Result<std::string> DomainRemove(ApiCall& c, msg::DomainRemove& b) {
  auto app = names::ParseAppRef(b.app);
  if (!app.ok()) return app.status();
  if (Status s = c.deps.domains->RemoveName(b.name, *app); !s.ok()) return s;
  spdlog::info("domain.remove {} from {}", b.name, app->ToString());
  Changed(c.deps, app->EnvRef(), c.now_ms);
  return std::string();
}

Result<std::string> DomainList(ApiCall& c, msg::DomainListRequest& b) {
  if (!b.app.empty()) {
    if (auto app = ExistingApp(c.deps, b.app); !app.ok()) return app.status();
  }
  auto l = Listing(c.deps, b.app);
  if (!l.ok()) return l.status();
  return Answer(*l);
}

Result<std::string> CertList(ApiCall& c, msg::CertListRequest&) {
  auto l = Listing(c.deps, "");
  if (!l.ok()) return l.status();
  return Answer(*l);
}

Result<std::string> CertAdd(ApiCall& c, msg::CertAdd& b) {
  struct WipeKey {
    std::string& k;
    ~WipeKey() { crypto::Wipe(k); }
  } wipe{b.key_pem};
  if (Status s = ValidateDomainName(b.name); !s.ok()) return s;
  auto row = c.deps.domains->Find(b.name);
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no app has the name " + b.name + " (rv domains:add APP " + b.name + " first)");
  auto checked = CheckOwnCert(b.name, b.cert_pem, b.key_pem, c.now_ms);
  if (!checked.ok()) return checked.status();
  Status s = c.deps.domains->PutCert(b.name, checked->cert_pem, checked->key_pem, checked->not_after_ms, true,
                                     checked->issuer, c.now_ms);
  crypto::Wipe(checked->key_pem);
  if (!s.ok()) return s;
  spdlog::info("certificate for {} ({}) installed by the operator, issuer {}, valid until {} ms", b.name, (*row)->app,
               checked->issuer, checked->not_after_ms);
  Changed(c.deps, (*row)->env, c.now_ms);
  auto after = c.deps.domains->Find(b.name);
  if (!after.ok() || !*after) return Status::Internal("the certificate of " + b.name + " vanished");
  return Answer(Info(**after));
}

Result<std::string> CertsRenewReq(ApiCall& c, msg::CertsRenew& b) {
  if (c.deps.pod_ca == nullptr) return Status::Unavailable("sauron has no pod CA (--pod-ca)");
  auto renewed = RenewCertificates(c.deps, c.now_ms, b.force);
  if (!renewed.ok()) return renewed.status();
  msg::DomainListing l;
  for (const auto& name : *renewed) {
    if (auto r = c.deps.domains->Find(name); r.ok() && *r) l.domains.push_back(Info(**r));
  }
  return Answer(l);
}

}  // namespace

Result<std::vector<std::string>> RenewCertificates(const ApiDeps& d, int64_t now_ms, bool force) {
  std::vector<std::string> done;
  if (d.domains == nullptr || d.pod_ca == nullptr) return done;
  auto rows = d.domains->List();
  if (!rows.ok()) return rows.status();
  std::set<std::string> envs;
  Status first = Status::Ok();
  for (const auto& r : *rows) {
    if (!CertDue(r, now_ms, force)) continue;
    if (Status s = Issue(d, r, now_ms); !s.ok()) {
      spdlog::error("cannot issue a certificate for {}: {}", r.name, s.message());
      if (first.ok()) first = s;
      continue;
    }
    done.push_back(r.name);
    envs.insert(r.env);
  }
  for (const auto& e : envs) Changed(d, e, now_ms);
  if (done.empty() && !first.ok()) return first;
  return done;
}

Status AddDefaultName(const ApiDeps& d, const names::AppRef& app, int64_t now_ms) {
  if (d.domains == nullptr) return Status::Ok();
  std::string name = DefaultName(app, d.pod_domain);
  if (Status s = ValidateDomainName(name); !s.ok()) return s;
  // A default name of an earlier pod domain goes (sauron restarted with another).
  auto dropped = d.domains->DropOtherDefaults(app, name);
  if (!dropped.ok()) return dropped.status();
  auto added = d.domains->AddName(name, app, true, now_ms);
  if (!added.ok()) return added.status();
  auto row = d.domains->Find(name);
  if (!row.ok() || !*row) return row.ok() ? Status::Internal("the name " + name + " vanished") : row.status();
  bool issued = false;
  if (d.pod_ca && CertDue(**row, now_ms, false)) {
    if (Status s = Issue(d, **row, now_ms); !s.ok()) return s;
    issued = true;
  }
  if (*added || issued || *dropped > 0) Changed(d, app.EnvRef(), now_ms);
  return Status::Ok();
}

void RemoveAppNames(const ApiDeps& d, const names::AppRef& app, int64_t now_ms) {
  if (d.domains == nullptr) return;
  auto gone = d.domains->RemoveApp(app);
  if (!gone.ok()) {
    spdlog::error("cannot remove the names of {}: {}", app.ToString(), gone.status().message());
    return;
  }
  if (!gone->empty()) Changed(d, app.EnvRef(), now_ms);
}

Status EnsureAppNames(const ApiDeps& d, int64_t now_ms) {
  if (d.domains == nullptr || d.accounts == nullptr) return Status::Ok();
  auto apps = d.accounts->Apps("");
  if (!apps.ok()) return apps.status();
  for (const auto& a : *apps) {
    if (Status s = AddDefaultName(d, names::AppRef{a.tenant, a.env, a.app}, now_ms); !s.ok()) {
      spdlog::error("default name of {}/{}/{}: {}", a.tenant, a.env, a.app, s.message());
    }
  }
  auto renewed = RenewCertificates(d, now_ms, false);
  if (!renewed.ok()) return renewed.status();
  if (!renewed->empty()) spdlog::info("{} certificate(s) issued or renewed at start", renewed->size());
  return Status::Ok();
}

void RegisterDomainRequests(RequestTable& t) {
  const RoleSet admin{Role::kAdmin};
  t.On<msg::ProxyCertsRequest>(RoleSet{Role::kHost}, G::kAlone, ProxyCerts, HasDomains);
  t.On<msg::EdgeRoutesRequest>(RoleSet{Role::kEdge, Role::kAdmin}, G::kAlone, EdgeRoutes, HasDomains);
  t.On<msg::DomainAdd>(admin, G::kAlone, DomainAdd, HasDomains);
  t.On<msg::DomainRemove>(admin, G::kAlone, DomainRemove, HasDomains);
  t.On<msg::DomainListRequest>(admin, G::kAlone, DomainList, HasDomains);
  t.On<msg::CertListRequest>(admin, G::kAlone, CertList, HasDomains);
  t.On<msg::CertAdd>(admin, G::kAlone, CertAdd, HasDomains);
  t.On<msg::CertsRenew>(admin, G::kAlone, CertsRenewReq, HasDomains);
}

}  // namespace rv::sauron
