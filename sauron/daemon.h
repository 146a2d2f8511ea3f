// Daemon: one sauron, assembled from its parts and driven by one loop thread.
//
//   ZapAuthenticator  who may connect: enrolled hosts (user id = host id) and
//                     the pod keys (common/roles.h: admin, elrond, gitrecv,
//                     builder; user id = key name, keys/<name>.key.pub)
//   Store             SQLite source of truth (store.h)
//   ChangeStream      PUB of every committed event (change_stream.h)
//   ApiServer         ROUTER request API + authorization (api_server.h)
//   Liveness          lost-host detection (liveness.h)
//
// Trust changes take effect without a restart: admin.enroll allows the key at
// once, and the loop re-reads the role key files and the pod config's `hosts`
// every second. On start, hosts the database says are up get a fresh
// last_seen, so after a sauron crash they have the backstop interval to say
// hello again before they are declared lost.
//
// Create() binds everything; Run() serves until `stop` becomes true. Endpoints
// ending in ":*" bind an ephemeral port (api_endpoint()/pub_endpoint() tell
// which), as tests do.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "common/config.h"
#include "common/counters.h"
#include "common/roles.h"
#include "common/transport/keys.h"
#include "common/transport/zap.h"
#include "sauron/api_server.h"
#include "sauron/change_stream.h"
#include "sauron/accounts.h"
#include "sauron/releases.h"
#include "sauron/domain_store.h"
#include "sauron/env_config_store.h"
#include "sauron/pod_ca.h"
#include "sauron/liveness.h"
#include "sauron/log_relay.h"
#include "sauron/overlay_state.h"
#include "sauron/proxy_notices.h"
#include "sauron/store.h"

namespace rv::sauron {

// Apps' names and certificates (docs/PROXY.md).
struct DomainOptions {
  std::string pod_domain = "rivendell.test";  // default names: APP.ENV.TENANT.<pod_domain>
  std::string pod_ca;  // PREFIX of PREFIX.key/.crt (scripts/pod-ca); "" = no certificates issued
};

class Daemon {
 public:
  // `config_path` (may be empty) is re-read for hosts enrolled by configuration.
  static Result<std::unique_ptr<Daemon>> Create(const PodConfig& cfg, const std::string& config_path = "",
                                                OverlayOptions overlay = {}, DomainOptions domains = {});
  ~Daemon();

  void Run(const std::atomic<bool>& stop);

  const std::string& api_endpoint() const { return api_->endpoint(); }
  const std::string& pub_endpoint() const { return pub_->endpoint(); }
  const transport::CurveKeypair& keys() const { return keys_; }
  Counters& counters() { return counters_; }

 private:
  explicit Daemon(const PodConfig& cfg, std::string config_path);
  // Overlay: addresses/keys after membership changes and rotation steps;
  // announces the hosts whose view changed as one "overlay.changed" event.
  void FlushOverlay();
  // Proxies and the edge: one "proxy.changed" per dirty env (addressed to its
  // proxies' hosts) and one "edge.changed", at most every kProxyNoticeEveryMs.
  void FlushProxyNotices(int64_t now_mono);
  Status Start();
  void ReloadTrust();
  // Allows each pod key (common/roles.h) whose keys/<name>.key[.pub] exists;
  // its User-Id is its name, which gives its role.
  void AllowPodKeys();
  void AllowPodKey(const std::string& name, Role role);
  void EnrollFromConfig(const PodConfig& cfg);
  void MarkLost(int64_t now_mono);
  void DrainBeacons();
  void HandleZapRefusals();

  PodConfig cfg_;
  std::string config_path_;
  int64_t config_mtime_ = 0;
  std::map<std::string, std::string> role_keys_;  // pod key name -> allowed key
  transport::CurveKeypair keys_;
  Counters counters_;
  std::mutex zap_mu_;
  std::deque<std::pair<std::string, std::string>> zap_refusals_;  // (fingerprint, address)

  // Declaration order is destruction order reversed: sockets close before the
  // ZAP handler stops, and both before the context terminates.
  zmq::context_t ctx_;
  std::unique_ptr<transport::ZapAuthenticator> zap_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReleaseStore> releases_;       // apps' builds and releases
  std::unique_ptr<EnvConfigStore> env_config_;  // environment vars/secrets, encrypted at rest
  std::unique_ptr<Accounts> accounts_;          // users, SSH keys, apps, access
  DomainOptions domain_opts_;
  std::unique_ptr<DomainStore> domains_;        // apps' names and certificates, keys encrypted at rest
  std::unique_ptr<PodCa> pod_ca_;               // null without --pod-ca
  OverlayOptions overlay_opts_;
  std::unique_ptr<OverlayState> overlay_;  // null when the overlay is off
  ProxyNotices proxy_notices_;
  LogRelay log_relay_;  // rv logs: chunks on their way from a host to the reader
  int64_t next_proxy_notice_ms_ = 0;
  std::unique_ptr<ChangeStream> pub_;
  std::unique_ptr<Liveness> liveness_;
  std::unique_ptr<BeaconReceiver> beacons_;  // null when beacons are off
  std::unique_ptr<ApiServer> api_;
};

}  // namespace rv::sauron
