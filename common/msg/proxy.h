// Messages of apps' names and certificates, environment proxies and the edge
// (docs/PROXY.md).
//
//   strider/proxy --DEALER--> sauron  host.proxy_certs   -> ProxyCerts (its env's names, keys sealed to it)
//   rv-edge       --DEALER--> sauron  edge.routes        -> EdgeRoutes (names -> env, env -> proxy endpoints)
//   rv (CLI)      --DEALER--> sauron  admin.domain_add, admin.domain_remove, admin.domains,
//                                     admin.cert_add, admin.certs, admin.certs_renew
//   sauron        --PUB-----> all     change "domains.changed" (detail: the env)
//
// Contract:
//  * A private key leaves sauron only inside ProxyCertEntry.key_sealed
//    (crypto_box_seal of the key PEM to the asking host's CURVE public key),
//    and only to a host running a proxy job of that environment.
//  * The edge gets names, environments and endpoints: never a key or a cert.
//  * `version` fields change whenever what they summarize changes (a content
//    digest, so equal versions mean equal content).
#pragma once

#include "common/msg/types.h"

namespace rv::msg {

// --- a proxy host's certificates -----------------------------------------

struct ProxyCertsRequest {            // from a host: its own id only
  static constexpr const char* kType = "host.proxy_certs";
  std::string host_id;
  std::string env;                    // TENANT/ENV
  // The version of the set the host holds (0: none). When it is the current
  // one sauron answers `unchanged` and seals nothing: a proxy refreshes every
  // few seconds, and its names rarely change.
  int64_t known_version = 0;
  RV_DEFINE_MAP(host_id, env, known_version);
};
struct ProxyCertEntry {
  std::string name;                   // DNS name (SNI / Host)
  std::string app;                    // TENANT/ENV/APP
  std::string cert_pem;               // leaf + chain
  std::string key_sealed;             // binary: crypto_box_seal(key PEM) to the host
  int64_t not_after_ms = 0;
  bool custom = false;                // the operator's own certificate
  RV_DEFINE_MAP(name, app, cert_pem, key_sealed, not_after_ms, custom);
};
struct ProxyCerts {
  static constexpr const char* kType = "proxy_certs";
  std::string env;
  int64_t version = 0;
  std::vector<ProxyCertEntry> entries;  // by name; names without a certificate are left out
  bool unchanged = false;               // version == known_version: no entries, keep yours
  RV_DEFINE_MAP(env, version, entries, unchanged);
};

// --- the edge --------------------------------------------------------------

struct EdgeRoutesRequest {
  static constexpr const char* kType = "edge.routes";
  int32_t unused = 0;
  RV_DEFINE_MAP(unused);
};
struct EdgeRoute {
  std::string name;                   // DNS name
  std::string env;                    // TENANT/ENV
  RV_DEFINE_MAP(name, env);
};
struct EdgeProxy {
  std::string env;
  std::vector<std::string> endpoints;  // "ADDR:PORT", sorted
  RV_DEFINE_MAP(env, endpoints);
};
struct EdgeRoutes {
  static constexpr const char* kType = "edge_routes";
  int64_t version = 0;
  std::vector<EdgeRoute> routes;       // by name
  std::vector<EdgeProxy> proxies;      // by env
  RV_DEFINE_MAP(version, routes, proxies);
};

// --- the operator's names and certificates ---------------------------------

struct DomainAdd {                    // reply: ok (adding a name an app already has is ok)
  static constexpr const char* kType = "admin.domain_add";
  std::string app;                    // TENANT/ENV/APP
  std::string name;
  RV_DEFINE_MAP(app, name);
};
struct DomainRemove {                 // reply: ok; NotFound if the app has no such name
  static constexpr const char* kType = "admin.domain_remove";
  std::string app;
  std::string name;
  RV_DEFINE_MAP(app, name);
};
struct DomainListRequest {            // reply: DomainListing
  static constexpr const char* kType = "admin.domains";
  std::string app;                    // "" = every app's names
  RV_DEFINE_MAP(app);
};
struct CertListRequest {              // reply: DomainListing (every name)
  static constexpr const char* kType = "admin.certs";
  int32_t unused = 0;
  RV_DEFINE_MAP(unused);
};
struct CertAdd {                      // reply: DomainInfo of the name
  static constexpr const char* kType = "admin.cert_add";
  std::string name;
  std::string cert_pem;               // leaf first, then its chain
  std::string key_pem;                // travels only in the CURVE-encrypted admin connection
  RV_DEFINE_MAP(name, cert_pem, key_pem);
};
struct CertsRenew {                   // reply: DomainListing of the names reissued
  static constexpr const char* kType = "admin.certs_renew";
  bool force = false;                 // reissue every pod-CA certificate, not only those due
  RV_DEFINE_MAP(force);
};
struct DomainInfo {
  static constexpr const char* kType = "domain_info";
  std::string name;
  std::string app;                    // TENANT/ENV/APP
  bool is_default = false;            // APP.ENV.TENANT.<pod domain>
  std::string issuer;                 // "pod-CA" | "custom" | "" (no certificate yet)
  std::string subject;                // the certificate's issuer DN (custom ones)
  int64_t not_after_ms = 0;
  RV_DEFINE_MAP(name, app, is_default, issuer, subject, not_after_ms);
};
struct DomainListing {
  static constexpr const char* kType = "domain_listing";
  std::vector<DomainInfo> domains;    // by name
  RV_DEFINE_MAP(domains);
};

}  // namespace rv::msg
