#include "sauron/daemon.h"

#include "sauron/api_requests.h"
#include "sauron/domain_names.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/event_kinds.h"
#include "common/states.h"
#include "common/clock.h"
#include "common/proxy_notice.h"
#include "common/transport/curve.h"

namespace rv::sauron {
namespace {

constexpr int64_t kReloadEveryMs = 1000;
constexpr int64_t kFlushEveryMs = 5000;
constexpr int kMaxRequestsPerTurn = 512;
// Beacons are read in batches this often (and always before judging silence,
// so the period does not delay a verdict): fewer wake-ups of an idle sauron.
constexpr int64_t kBeaconEveryMs = 50;
constexpr int64_t kSlowTurnMs = 100;
// Proxy and edge notices are coalesced this long: a rollout's burst of job
// events becomes one notice per env, still well inside the 1 s a proxy has.
constexpr int64_t kProxyNoticeEveryMs = 50;  // a loop turn this long delays every host's liveness

int64_t MtimeMs(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

}  // namespace

Daemon::Daemon(const PodConfig& cfg, std::string config_path)
    : cfg_(cfg), config_path_(std::move(config_path)), ctx_(transport::MakeContext(1, 16384)) {}

Daemon::~Daemon() {
  if (store_) {
    store_->SetChangeSink(nullptr);
    (void)store_->FlushHosts();
  }
}

Result<std::unique_ptr<Daemon>> Daemon::Create(const PodConfig& cfg, const std::string& config_path,
                                               OverlayOptions overlay, DomainOptions domains) {
  std::unique_ptr<Daemon> d(new Daemon(cfg, config_path));
  d->overlay_opts_ = std::move(overlay);
  d->domain_opts_ = std::move(domains);
  if (Status s = d->Start(); !s.ok()) return s;
  return d;
}

Status Daemon::Start() {
  std::error_code ec;
  std::filesystem::create_directories(cfg_.pod_dir + "/keys", ec);
  auto kp = transport::LoadOrCreateKeypair(cfg_.KeyPath("sauron"));
  if (!kp.ok()) return kp.status();
  keys_ = *kp;

  // The ZAP handler must exist before any CURVE server socket binds.
  zap_ = std::make_unique<transport::ZapAuthenticator>(ctx_);
  zap_->OnRefused([this](const std::string& fp, const std::string& addr) {
    std::lock_guard<std::mutex> lock(zap_mu_);
    if (zap_refusals_.size() < 1024) zap_refusals_.emplace_back(fp, addr);
  });

  auto store = Store::Open(cfg_.Path(cfg_.sauron.db));
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  {
    // The master key of environment secrets: 0600, created on first start.
    // Losing it loses every secret (see docs/SAURON.md, "Backing up").
    std::string key_path = cfg_.KeyPath("secrets");
    auto key = crypto::SecretBoxKey::LoadOrCreate(key_path);
    if (!key.ok()) return Status::FromCode(key.status().code(), "secrets key: " + key.status().message());
    // Certificates' private keys are encrypted under the same key.
    auto ds = DomainStore::Open(cfg_.Path(cfg_.sauron.db), *key);
    if (!ds.ok()) return ds.status();
    domains_ = std::move(*ds);
    auto ec = EnvConfigStore::Open(cfg_.Path(cfg_.sauron.db), std::move(*key));
    if (!ec.ok()) return ec.status();
    env_config_ = std::move(*ec);
  }
  if (Status s = ValidatePodDomain(domain_opts_.pod_domain); !s.ok()) return s;
  if (!domain_opts_.pod_ca.empty()) {
    auto ca = PodCa::Load(domain_opts_.pod_ca);
    if (!ca.ok()) return ca.status();
    pod_ca_ = std::move(*ca);
  }
  if (auto acc = Accounts::Open(cfg_.Path(cfg_.sauron.db)); acc.ok()) {
    accounts_ = std::move(*acc);
  } else {
    return acc.status();
  }
  {
    auto rs = ReleaseStore::Open(cfg_.Path(cfg_.sauron.db));
    if (!rs.ok()) return rs.status();
    releases_ = std::move(*rs);
  }

  pub_ = std::make_unique<ChangeStream>(ctx_, keys_);
  if (overlay_opts_.enabled) {
    if (overlay_opts_.master_key_path.empty()) overlay_opts_.master_key_path = cfg_.KeyPath("overlay-master");
    auto ov = OverlayState::Open(cfg_.Path(cfg_.sauron.db), overlay_opts_);
    if (!ov.ok()) return ov.status();
    overlay_ = std::move(*ov);
    auto placed = store_->ListJobs({job_state::kPlaced}, 1 << 30);
    if (!placed.ok()) return placed.status();
    overlay_->Load(*placed);
  }
  {
    auto placed = store_->ListJobs({job_state::kPlaced}, 1 << 30);
    if (!placed.ok()) return placed.status();
    proxy_notices_.Load(*placed, store_->Hosts());
  }
  store_->SetChangeSink([this](const msg::Change& c) {
    pub_->Publish(c);
    if (overlay_) overlay_->OnChange(c);
    proxy_notices_.OnChange(c);
  });

  LivenessOptions lo;
  lo.heartbeat_ms = cfg_.sauron.heartbeat_ms;
  lo.lost_after_ms = cfg_.sauron.lost_after_ms;
  // Without beacons, silence is libzmq's ZMTP heartbeat closing the
  // connection, which looks like an agent that died: no grace then, or a
  // silent host would keep its jobs for the grace (docs/SCEPTRE.md).
  lo.disconnect_grace_ms = cfg_.sauron.beacon_port >= 0 ? cfg_.sauron.disconnect_grace_ms : 0;
  liveness_ = std::make_unique<Liveness>(lo);

  if (cfg_.sauron.beacon_port >= 0) {
    beacons_ = std::make_unique<BeaconReceiver>();
    liveness_->SetBeaconClock([this](const std::string& host) { return beacons_->LastBeaconMs(host); });
  }

  ApiDeps deps;
  deps.beacons = beacons_.get();
  deps.beacon_ms = cfg_.sauron.beacon_ms;
  deps.store = store_.get();
  deps.env_config = env_config_.get();
  deps.accounts = accounts_.get();
  deps.releases = releases_.get();
  deps.liveness = liveness_.get();
  deps.counters = &counters_;
  deps.heartbeat_ms = cfg_.sauron.heartbeat_ms;
  deps.overlay = overlay_.get();
  deps.domains = domains_.get();
  deps.pod_ca = pod_ca_.get();
  deps.pod_domain = domain_opts_.pod_domain;
  deps.logs = &log_relay_;
  deps.notify_host = [this](const msg::Change& c) { pub_->PublishToHost(c); };
  deps.on_enrolled = [this](const msg::HostRecord& before, const msg::HostRecord& after) {
    if (!before.public_key.empty() && before.public_key != after.public_key) zap_->Revoke(before.public_key);
    zap_->Allow(after.public_key, after.id);
  };
  deps.extra_counters = [this](std::map<std::string, int64_t>* c) {
    (*c)["zap.refused"] = zap_->refused();
    (*c)["pub.published"] = pub_->published();
    (*c)["pub.dropped"] = pub_->dropped();
    if (beacons_) {
      (*c)["beacon.accepted"] = beacons_->accepted();
      (*c)["beacon.rejected"] = beacons_->rejected();
      (*c)["beacon.rejected.unknown_session"] = beacons_->unknown_session();
      (*c)["beacon.rejected.bad_tag"] = beacons_->bad_tag();
      (*c)["beacon.rejected.replayed"] = beacons_->replayed();
    }
  };
  // Every app's default name, and the certificates due (docs/PROXY.md).
  if (Status s = EnsureAppNames(deps, WallMs()); !s.ok()) spdlog::error("names and certificates: {}", s.message());
  if (!pod_ca_) spdlog::warn("sauron: no pod CA (--pod-ca): apps' names get no certificate until rv certs:add");
  api_ = std::make_unique<ApiServer>(ctx_, keys_, std::move(deps));

  // Trust: every enrolled host, the pod's roles, the config's hosts.
  for (const auto& h : store_->Hosts()) zap_->Allow(h.public_key, h.id);
  EnrollFromConfig(cfg_);
  config_mtime_ = MtimeMs(config_path_);
  AllowPodKeys();

  // After a crash: up hosts get a fresh chance to say hello.
  int64_t mono = MonotonicMs();
  store_->RefreshLastSeen(WallMs());
  for (const auto& h : store_->Hosts()) {
    if (h.state == host_state::kUp) liveness_->Track(h.id, mono);
  }

  if (Status s = pub_->Bind(cfg_.sauron.pub); !s.ok()) return s;
  // With beacons, pings would only find half-open TCP connections, which the
  // kernel's keepalive finds without waking libzmq (see SetHeartbeat's note).
  Status bound = beacons_ ? api_->Bind(cfg_.sauron.api, 0, 0, std::max(1, cfg_.sauron.zmtp_heartbeat_ms / 1000))
                          : api_->Bind(cfg_.sauron.api, cfg_.sauron.zmtp_heartbeat_ms, cfg_.sauron.lost_after_ms);
  if (!bound.ok()) return bound;
  if (beacons_) {
    // Beacons go to the API's address: whoever reaches the API reaches them.
    std::string ep = api_->endpoint();  // tcp://IP:PORT
    auto colon = ep.rfind(':');
    std::string ip = ep.substr(6, colon - 6);
    int api_port = std::stoi(ep.substr(colon + 1));
    int port = cfg_.sauron.beacon_port > 0 ? cfg_.sauron.beacon_port : api_port + 2;
    Status s = beacons_->Bind(ip, port);
    if (!s.ok() && cfg_.sauron.beacon_port == 0) {
      spdlog::warn("{}; using a free port for beacons instead", s.message());
      s = beacons_->Bind(ip, 0);
    }
    if (!s.ok()) return s;
    spdlog::info("sauron: liveness beacons on udp {}:{} every {} ms, lost after {} ms", ip, beacons_->port(),
                 cfg_.sauron.beacon_ms, cfg_.sauron.lost_after_ms);
  }
  spdlog::info("sauron: api {} pub {} db {} key {} ({} hosts, event seq {})", api_->endpoint(), pub_->endpoint(),
               cfg_.Path(cfg_.sauron.db), transport::KeyFingerprint(keys_.public_key), store_->Hosts().size(),
               store_->last_seq());
  return Status::Ok();
}

void Daemon::AllowPodKeys() {
  for (const PodKey& k : PodKeys()) AllowPodKey(std::string(k.name), k.role);
}

void Daemon::AllowPodKey(const std::string& role, Role r) {
  // keys/<name>.key.pub, else the public line of keys/<name>.key.
  std::string path = cfg_.KeyPath(role);
  auto key = transport::LoadPublicKey(path + ".pub");
  if (!key.ok()) key = transport::LoadPublicKey(path);
  if (!key.ok()) {
    // The pod runs without a git server or builder; not without these two.
    bool needed = r == Role::kAdmin || r == Role::kScheduler;
    if (needed && !role_keys_.count(role) && !role_keys_.count("!" + role)) {
      spdlog::warn("no {} key yet ({}.pub); {} cannot connect until it exists", role, path, role);
      role_keys_["!" + role] = "";
    }
    return;
  }
  auto it = role_keys_.find(role);
  if (it != role_keys_.end() && it->second == *key) return;
  if (it != role_keys_.end()) zap_->Revoke(it->second);
  for (const auto& h : store_->Hosts()) {
    if (h.public_key == *key) {
      spdlog::error("the {} key is also host {}'s key; not allowing it as {}", role, h.id, role);
      return;
    }
  }
  zap_->Allow(*key, role);
  role_keys_[role] = *key;
  spdlog::info("allowing {} (key {})", role, transport::KeyFingerprint(*key));
}

void Daemon::EnrollFromConfig(const PodConfig& cfg) {
  for (const auto& e : cfg.hosts) {
    msg::EnrollHost req;
    req.host_id = e.id;
    req.labels = e.labels;
    // Inline Z85 key, or a key file (relative to pod_dir), or keys/<id>.key.pub.
    std::string key = e.public_key;
    if (!transport::IsValidZ85Key(key)) {
      std::string path = key.empty() ? cfg.KeyPath(e.id) + ".pub" : cfg.Path(key);
      auto loaded = transport::LoadPublicKey(path);
      if (!loaded.ok()) {
        spdlog::warn("config host {}: {}", e.id, loaded.status().message());
        continue;
      }
      key = *loaded;
    }
    req.public_key = key;
    msg::HostRecord before;
    if (auto* h = store_->FindHost(e.id)) {
      before = *h;
      req.max_capacity = h->max_capacity;
    }
    Status s = store_->EnrollHost(req);
    if (!s.ok()) {
      spdlog::warn("config host {}: {}", e.id, s.message());
      continue;
    }
    if (!before.public_key.empty() && before.public_key != key) zap_->Revoke(before.public_key);
    zap_->Allow(key, e.id);
  }
}

void Daemon::ReloadTrust() {
  AllowPodKeys();
  int64_t m = MtimeMs(config_path_);
  if (m != 0 && m != config_mtime_) {
    config_mtime_ = m;
    auto cfg = LoadPodConfig(config_path_);
    if (!cfg.ok()) {
      spdlog::warn("pod config changed but does not parse, keeping the old one: {}", cfg.status().message());
      return;
    }
    spdlog::info("pod config changed: re-reading its hosts");
    EnrollFromConfig(*cfg);
  }
}

void Daemon::DrainBeacons() {
  int64_t t = MonotonicMs();
  beacons_->Drain([&](const std::string& host) { liveness_->OnBeacon(host, t); });  // later ones: BeaconClock
}

void Daemon::MarkLost(int64_t now_mono) {
  // A closed agent connection is news at once; the host's jobs move only if
  // its agent does not come back within the grace (docs/SCEPTRE.md).
  for (auto& [host, why] : liveness_->TakeGone()) {
    counters_.Add("hosts.agent_gone");
    std::string detail = why + "; its jobs move in " +
                         std::to_string(cfg_.sauron.beacon_port >= 0 ? cfg_.sauron.disconnect_grace_ms : 0) +
                         " ms unless its agent says hello again";
    if (Status s = store_->AppendEvent(event_kind::kHostAgentGone, host, "", 0, detail, WallMs()); !s.ok())
      spdlog::error("cannot record host.agent_gone of {}: {}", host, s.message());
    spdlog::warn("host {} agent gone: {}", host, detail);
  }
  for (auto& [host, why] : liveness_->Due(now_mono)) {
    Status s = store_->MarkHostLost(host, why);
    if (!s.ok()) {
      spdlog::error("cannot mark host {} lost: {}", host, s.message());
      liveness_->Track(host, now_mono);  // retried at the next backstop
      continue;
    }
    counters_.Add("hosts.lost");
    std::string beacon_note;
    if (beacons_) {
      beacon_note = " (" + beacons_->Describe(host) + ")";
      beacons_->Revoke(host);
    }
    spdlog::warn("host {} lost: {}{}", host, why, beacon_note);
  }
}

void Daemon::HandleZapRefusals() {
  std::deque<std::pair<std::string, std::string>> batch;
  {
    std::lock_guard<std::mutex> lock(zap_mu_);
    batch.swap(zap_refusals_);
  }
  for (auto& [fp, addr] : batch) api_->Refuse("unenrolled", "connection from " + addr + " with key " + fp + " refused: key not enrolled");
}

void Daemon::FlushOverlay() {
  if (!overlay_) return;
  int64_t now = WallMs();
  Result<std::set<std::string>> changed = std::set<std::string>{};
  if (overlay_->NeedsFlush()) changed = overlay_->Flush(store_->Hosts(), now);
  auto rotated = overlay_->Tick(now);
  if (!changed.ok() || !rotated.ok()) {
    counters_.Add("overlay.errors");
    spdlog::error("overlay: {}", (!changed.ok() ? changed.status() : rotated.status()).message());
    return;
  }
  changed->insert(rotated->begin(), rotated->end());
  // elrond tells bidders which envs need AES-NI (see common/event_kinds.h, kOverlayAead).
  for (const auto& [env, aeads] : overlay_->TakeAeadChanges()) {
    if (Status s = store_->AppendEvent(event_kind::kOverlayAead, "", "", 0, env + "=" + aeads, now); !s.ok())
      spdlog::error("overlay: cannot announce {}'s AEAD: {}", env, s.message());
  }
  if (changed->empty()) return;
  std::string csv;
  for (const auto& h : *changed) csv += (csv.empty() ? "" : ",") + h;
  counters_.Add("overlay.announced");
  if (Status s = store_->AppendEvent(event_kind::kOverlayChanged, "", "", overlay_->version(), csv, now); !s.ok())
    spdlog::error("overlay: cannot announce: {}", s.message());
}

void Daemon::FlushProxyNotices(int64_t now_mono) {
  if (!proxy_notices_.Pending() || now_mono < next_proxy_notice_ms_) return;
  next_proxy_notice_ms_ = now_mono + kProxyNoticeEveryMs;
  auto due = proxy_notices_.Take();
  int64_t now = WallMs();
  for (const auto& [env, hosts] : due.envs) {
    counters_.Add("proxy.notices");
    if (Status s = store_->AppendEvent(event_kind::kProxyChanged, "", "", 0, FormatProxyNotice(env, hosts), now);
        !s.ok())
      spdlog::error("cannot announce {}'s proxy change: {}", env, s.message());
  }
  if (due.edge) {
    counters_.Add("edge.notices");
    if (Status s = store_->AppendEvent(event_kind::kEdgeChanged, "", "", 0, "", now); !s.ok())
      spdlog::error("cannot announce an edge change: {}", s.message());
  }
}

void Daemon::Run(const std::atomic<bool>& stop) {
  int64_t next_reload = MonotonicMs() + kReloadEveryMs;
  int64_t next_flush = MonotonicMs() + kFlushEveryMs;
  int64_t next_beacons = 0;
  zmq::pollitem_t items[] = {{api_->router().handle(), 0, ZMQ_POLLIN, 0},
                             {api_->monitor_socket().handle(), 0, ZMQ_POLLIN, 0}};
  while (!stop.load()) {
    int64_t now = MonotonicMs();
    int64_t wait = std::min<int64_t>(liveness_->NextDeadline() - now, beacons_ ? kBeaconEveryMs : 50);
    if (wait < 0) wait = 0;
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(wait));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::error("poll: {}", e.what());
      continue;
    }
    // Connection events first, so a hello is matched against its connection
    // and a disconnect is acted on before anything else.
    api_->DrainMonitor(MonotonicMs());
    // Beacons are read on a timer, not polled (one recvmmsg pass per
    // kBeaconEveryMs), and always before a silence verdict: a beacon waiting
    // in the socket is news, not silence.
    auto judge = [&](bool news_may_wait) {
      int64_t t = MonotonicMs();
      if (beacons_ && (news_may_wait || t >= next_beacons || liveness_->NextDeadline() <= t)) {
        next_beacons = t + kBeaconEveryMs;
        DrainBeacons();
      }
      MarkLost(MonotonicMs());
    };
    judge(false);
    int64_t t_requests = MonotonicMs();
    int handled = api_->DrainRequests(kMaxRequestsPerTurn);
    int64_t took = MonotonicMs() - t_requests;
    if (took >= kSlowTurnMs) {
      counters_.Add("loop.slow_turns");
      spdlog::warn("slow turn: {} requests took {} ms", handled, took);
    }
    pub_->Flush();  // the turn's changes reach elrond before it is judged who is lost
    api_->DrainMonitor(MonotonicMs());
    judge(handled > 0);  // beacons may have arrived while requests were handled
    now = MonotonicMs();
    FlushOverlay();
    FlushProxyNotices(MonotonicMs());  // after the overlay: a placed job has its address by then
    HandleZapRefusals();
    if (now >= next_reload) {
      next_reload = now + kReloadEveryMs;
      ReloadTrust();
    }
    if (now >= next_flush) {
      next_flush = now + kFlushEveryMs;
      if (Status s = store_->FlushChangedHosts(now); !s.ok()) spdlog::error("flush hosts: {}", s.message());
    }
    pub_->Flush();  // host.lost, overlay changes and anything else of this turn
  }
  pub_->Flush();
  (void)store_->FlushHosts();
  spdlog::info("sauron: stopped (event seq {})", store_->last_seq());
}

}  // namespace rv::sauron
