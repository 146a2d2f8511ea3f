// What sauron tells environment proxies and the edge, decided from its state
// with no I/O (docs/PROXY.md): who may have an env's keys, the edge's route
// table, content versions, and which certificates are due.
//
// Contract:
//  * A host gets an env's certificates only while it has a placed job with
//    spec.kind == "proxy" and spec.env == env (ProxyCertsRefusal).
//  * Edge endpoints: for each placed proxy job whose run_state is "running"
//    and whose host is known with an address, "ADDR:PORT" with PORT its
//    spec.port; sorted and de-duplicated per env.
//  * Versions are digests of the content (63 bits of SHA-256), so they change
//    exactly when the content does (random sealing does not count).
//  * Pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/msg/proxy.h"
#include "common/msg/types.h"
#include "sauron/domain_store.h"

namespace rv::sauron {

inline constexpr char kProxyJobKind[] = "proxy";
inline constexpr int64_t kRenewBeforeMs = 30LL * 24 * 3600 * 1000;

// nullopt: allowed; else why not (for the refusal's message).
std::optional<std::string> ProxyCertsRefusal(const std::string& host_id, const std::string& env,
                                             const std::vector<msg::JobRecord>& placed);

// The edge's table from every name and every placed job.
msg::EdgeRoutes BuildEdgeRoutes(const std::vector<DomainRow>& names, const std::vector<msg::JobRecord>& placed,
                                const std::vector<msg::HostRecord>& hosts);

// The version of an env's certificate set (names, apps, certs, expiries).
int64_t CertsVersion(const std::vector<DomainRow>& rows);

// Should sauron (re)issue this name's certificate from the pod CA now? A name
// without one: yes; the operator's own: never; a pod-CA one: within 30 days
// of expiry, or always when `force`.
bool CertDue(const DomainRow& row, int64_t now_ms, bool force);

}  // namespace rv::sauron
