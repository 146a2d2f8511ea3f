// The modules of sauron's API: each adds its rows to the RequestTable.
//
// Adding a request type: a row in its module's Register*Requests (or a new
// module: a function here and one line in SauronRequests, api_requests.cc).
// Every row names the roles allowed to call it (common/roles.h).
#pragma once

#include "common/names.h"
#include "sauron/api_table.h"

namespace rv::sauron {

// host.hello, host.heartbeat, job.claim (claim.h), job.report, job.reports
void RegisterHostRequests(RequestTable& t);
// sched.snapshot, sched.award, sched.revoke, sched.pending, sched.counters
void RegisterSchedulerRequests(RequestTable& t);
// admin.enroll, admin.drain, admin.submit, admin.stop, admin.list, admin.config_*
void RegisterAdminRequests(RequestTable& t);
// host.overlay, admin.rotate_key, admin.overlay
void RegisterOverlayRequests(RequestTable& t);
// admin.user_*, admin.key_*, admin.app_*, admin.access_*, git.key_lookup, git.authorize
void RegisterAccountsRequests(RequestTable& t);
// admin.build_*, admin.release*, admin.formation_set, admin.env_releases
void RegisterReleaseRequests(RequestTable& t);
// host.proxy_certs, edge.routes, admin.domain_*, admin.domains, admin.cert_add,
// admin.certs, admin.certs_renew (api_domains.cc, docs/PROXY.md)
void RegisterDomainRequests(RequestTable& t);

// Names and certificates outside a request (api_domains.cc); each appends
// domains.changed for the environments whose names or certificates changed.
// The app's default name APP.ENV.TENANT.<pod domain>, with a certificate from
// the pod CA when there is one (app created, sauron started).
Status AddDefaultName(const ApiDeps& d, const names::AppRef& app, int64_t now_ms);
// Drops every name of a destroyed app.
void RemoveAppNames(const ApiDeps& d, const names::AppRef& app, int64_t now_ms);
// Issues every due pod-CA certificate (sauron/proxy_views.h CertDue); the names done.
Result<std::vector<std::string>> RenewCertificates(const ApiDeps& d, int64_t now_ms, bool force);
// At start: every app's default name, then RenewCertificates.
Status EnsureAppNames(const ApiDeps& d, int64_t now_ms);

// After an environment's config changed (admin.config_set/unset succeeded):
// bumps its config version and records a release per app that has one
// deployed (events release.created). A failure is logged: the config change
// itself stands.
void OnEnvConfigChanged(ReleaseStore& releases, Store& store, const std::string& env, const std::string& what,
                        int64_t now_ms);

// admin.log_read, admin.log_fetch, host.log_chunk (api_logs.cc)
void RegisterLogRequests(RequestTable& t);

// host.proxy_routes (api_proxy.cc)
void RegisterProxyRequests(RequestTable& t);

// The table of every request sauron serves (built on first use).
const RequestTable& SauronRequests();

}  // namespace rv::sauron
