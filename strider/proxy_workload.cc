#include "strider/proxy_workload.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <set>

#include "common/clock.h"
#include "common/crypto/sealed_box.h"
#include "common/crypto/sha256.h"
#include "common/names.h"
#include "strider/ingress_socket.h"
#include "strider/proxy_runtime.h"
#include "strider/proxy_server_plan.h"

namespace rv::strider {

namespace fs = std::filesystem;

namespace {

constexpr const char* kInside = "/run/proxy";

// A refused CLI answer as the host's log shows it: quoted and bounded (the
// proxy's container writes what its master says).
std::string ShownAnswer(const Result<std::string>& r) { return r.ok() ? names::Quote(r.value(), 200) : r.status().ToString(); }

std::string CertFileFor(const std::string& name) { return "certs/" + crypto::Sha256Hex(name).substr(0, 16) + ".pem"; }

}  // namespace

ProxyWorkload::ProxyWorkload(container::ContainerRuntime& rt, ProxyHostOptions o, std::shared_ptr<ProxySource> src,
                             StateCallback cb)
    : rt_(rt), o_(std::move(o)), src_(std::move(src)), cb_(cb), inner_(rt, std::move(cb)) {}

ProxyWorkload::~ProxyWorkload() {
  StopRefresh();
  CloseIngress();
}

// Made before the container starts (it gets the socket as fd 3), or taken
// back from the running one when adopting it.
Status ProxyWorkload::OpenIngress(bool adopting) {
  std::lock_guard<std::mutex> rl(relay_mu_);
  if (relay_ && socket_passed_) return Status::Ok();
  std::unique_ptr<IngressRelay> relay;
  if (adopting) {
    pid_t pid = -1;
    std::string id = container::ContainerIdFor(spec_.id);
    Result<int> fd = Status::NotFound("its container is not running");
    if (container::RuncStateAlive(rt_.RuncRoot() + "/" + id + "/state.json", &pid))
      fd = TakeListeningSocket(pid, 3, o_.address, spec_.port);
    auto r = fd.ok() ? IngressRelay::FromSocket(*fd, o_.relay_source) : Result<std::unique_ptr<IngressRelay>>(fd.status());
    if (!r.ok()) {
      // Started without socket activation: the relay binds the port once
      // the old strider's is gone, and connects to the container (Refresh).
      spdlog::info("proxy {}: the running proxy has no ingress socket of ours ({}); relaying to it", spec_.id,
                   r.status().message());
      socket_passed_ = false;
      return Status::Ok();
    }
    relay = std::move(*r);
  } else {
    auto r = IngressRelay::Open(o_.address, spec_.port, o_.relay_source);
    if (!r.ok()) return Status::Unavailable("proxy " + spec_.id + ": " + r.status().message());
    relay = std::move(*r);
  }
  relay->SetLocalAccepts(true);
  relay->SetLocalUp(false);  // until Poll sees the container run
  relay_ = std::move(relay);
  relay_target_.clear();
  socket_passed_ = true;
  inner_.PassFd(relay_->listen_fd());  // open as long as relay_: both go in CloseIngress
  return Status::Ok();
}

// What every configuration of this proxy has: its port, the ingress socket
// if it was passed, its run dir and fallback certificate as HAProxy sees them.
ProxyConfigInput ProxyWorkload::BaseConfigInput() const {
  ProxyConfigInput in;
  in.port = spec_.port;
  in.ingress_fd = socket_passed_ ? 3 : -1;
  in.dir = kInside;
  in.fallback_pem = std::string(kInside) + "/fallback.pem";
  return in;
}

Status ProxyWorkload::Prepare(const msg::JobSpec& spec, bool adopting) {
  if (spec.env.empty() || spec.env.find('/') == std::string::npos) return Status::Invalid("a proxy job needs env TENANT/ENV");
  if (spec.port < 1024 || spec.port > 65535) return Status::Invalid("a proxy job needs a port in 1024..65535");
  spec_ = spec;
  if (Status s = OpenIngress(adopting); !s.ok()) return s;
  dir_ = rt_.ProxyDir(container::ContainerIdFor(spec.id));
  std::error_code ec;
  fs::create_directories(fs::path(dir_).parent_path(), ec);
  if (ec) return Status::Io("create " + dir_ + ": " + ec.message());
  auto run_dir = ProxyRunDir::Open(dir_, o_.uid, o_.gid);
  if (!run_dir.ok()) return run_dir.status();
  run_dir_ = std::move(run_dir).value();
  // The fallback certificate: a throwaway self-signed one, made once per run
  // dir. openssl writes it in a directory of the strider's own: in the run
  // dir, it would follow any link the container put at its names.
  if (!run_dir_.HasFile("fallback.pem")) {
    std::string tmp = fs::path(dir_).parent_path().string() + "/.fallback.XXXXXX";
    if (!mkdtemp(tmp.data())) return Status::Io("mkdtemp " + tmp + ": " + strerror(errno));
    std::string key = tmp + "/key.pem", crt = tmp + "/crt.pem";
    Status s = container::RunTool({o_.openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                   "-nodes", "-subj", "/CN=unknown.invalid", "-days", "3650", "-keyout", key, "-out", crt});
    std::string pem;
    if (s.ok()) {
      std::ifstream a(crt), b(key);
      std::stringstream ss;
      ss << a.rdbuf() << b.rdbuf();
      pem = ss.str();
    }
    fs::remove_all(tmp, ec);
    if (!s.ok()) return Status::Io("making the proxy's fallback certificate: " + s.message());
    s = run_dir_.Write("fallback.pem", pem, 0600);
    crypto::Wipe(pem);
    if (!s.ok()) return s;
  }
  // A first configuration (no names yet) so HAProxy starts; the refresh
  // thread writes the real one within refresh_ms.
  if (!run_dir_.HasFile(kProxyConfigFile)) {
    auto f = RenderProxyConfig(BaseConfigInput());
    for (const auto& [rel, content] : f.ByName()) {
      if (Status s = run_dir_.Write(rel, content, 0600); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status ProxyWorkload::Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) {
  if (Status s = Prepare(spec, false); !s.ok()) {
    failed_ = true;
    if (cb_) cb_(RunState::kFailed, s.message());
    return s;
  }
  Status s = inner_.Start(spec, secrets);
  if (s.ok()) StartRefresh();
  return s;
}

Status ProxyWorkload::Adopt(const msg::JobSpec& spec) {
  if (Status s = Prepare(spec, true); !s.ok()) return s;
  Status s = inner_.Adopt(spec);
  if (s.ok()) StartRefresh();
  return s;
}

void ProxyWorkload::Stop(std::chrono::milliseconds grace) {
  {
    // HAProxy stops accepting at once; what still comes to this host while
    // it finishes goes to the env's other proxies.
    std::lock_guard<std::mutex> l(relay_mu_);
    stopping_ = true;
    if (relay_) relay_->SetLocalUp(false);
  }
  StopRefresh();
  if (failed_) {
    if (cb_) cb_(RunState::kStopped, "");
    return;
  }
  inner_.Stop(grace);
}

void ProxyWorkload::Release() {
  StopRefresh();
  CloseIngress();  // the container keeps its copy; the next strider takes it back
  inner_.Release();
  cleaned_ = true;  // the next agent adopts the container and its run dir
}

void ProxyWorkload::Poll(int64_t now_ms) {
  inner_.Poll(now_ms);
  {
    // While the container is not running, the ingress goes to the env's other proxies.
    std::lock_guard<std::mutex> l(relay_mu_);
    running_ = inner_.state() == RunState::kRunning;
    if (relay_) relay_->SetLocalUp(running_ && !stopping_);
  }
  if (inner_.done() && !cleaned_ && !dir_.empty()) {
    StopRefresh();
    CloseIngress();
    std::error_code ec;
    run_dir_ = ProxyRunDir();
    fs::remove_all(dir_, ec);  // certificates and keys go with the job (its container is gone: nothing swaps names)
    cleaned_ = true;
  }
}

void ProxyWorkload::StartRefresh() {
  // Registered without mu_ held: Notify holds the registry's lock while the
  // wake function takes mu_ (the other order would deadlock).
  if (o_.wakeups && wake_id_ == 0) {
    wake_id_ = o_.wakeups->Add(spec_.env, [this](int64_t sauron_event_ms) {
      std::lock_guard<std::mutex> wl(mu_);
      if (!wake_) {
        woken_at_ms_ = MonotonicMs();
        sauron_event_ms_ = sauron_event_ms;
      }
      wake_ = true;
      cv_.notify_all();
    });
  }
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ProxyWorkload::StopRefresh() {
  // Unregistered first, and without mu_ held: the wake function takes mu_.
  if (wake_id_ != 0 && o_.wakeups) o_.wakeups->Remove(wake_id_);
  wake_id_ = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProxyWorkload::CloseIngress() {
  std::lock_guard<std::mutex> rl(relay_mu_);
  relay_.reset();
}

// How long the reload of a change the runtime API applied whole (replicas
// that left or came) waits for another change to share it: a killed replica
// is back healthy within ~1-2 s, and its reload then need not queue behind;
// a deploy's steps come a few seconds apart (strider/proxy_reload.h, item 4).
constexpr int64_t kRuntimeReloadWaitMs = 2000;

void ProxyWorkload::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  bool live = false;  // a first configuration is live: later notices are changes to time
  Outcome last = Outcome::kRetry;
  int64_t fetched_ms = 0;
  while (!stop_) {
    // Timed only while HAProxy runs: a restarting one reads the files at its start.
    if (wake_ && live && running_ && notice_.at_ms == 0) notice_ = {woken_at_ms_, sauron_event_ms_};
    bool fetch = wake_ || last != Outcome::kReloadPending || MonotonicMs() - fetched_ms >= o_.refresh_ms;
    if (fetch) fetched_ms = MonotonicMs();
    wake_ = false;
    l.unlock();
    // Only a reload left to finish and no notice since: the files on disk
    // are current, so no fetch (a 2 s waiting reload would make ~8).
    Outcome out = fetch ? Refresh() : FinishReload(false);
    if (out == Outcome::kApplied || out == Outcome::kUnchanged) live = true;
    last = out;
    l.lock();
    int wait = out == Outcome::kApplied || out == Outcome::kUnchanged ? o_.refresh_ms : o_.retry_ms;
    cv_.wait_for(l, std::chrono::milliseconds(wait), [this] { return stop_ || wake_; });
  }
}

// A change is live: HAProxy runs it (a reload was taken, or the runtime API
// applied all of it). Timed from the sauron notice it came from, if any.
void ProxyWorkload::LogLive(ProxyNotice notice, const char* how) {
  if (notice.at_ms == 0 || !running_) return;
  int64_t took = MonotonicMs() - notice.at_ms;
  last_notice_applied_ms_ = took;
  spdlog::info("proxy {}: configuration live {} ms after sauron's notice arrived ({} ms after sauron sent it){}",
               spec_.id, took, WallMs() - notice.sauron_ms, how);
}

std::map<std::string, std::string> ProxyWorkload::written() const {
  std::lock_guard<std::mutex> l(const_cast<std::mutex&>(mu_));
  return written_;
}

namespace {

// The master's reload count from `show proc` ("1 master 3 [failed: 0] ..."); -1 if unknown.
int64_t MasterReloads(const ProxyRunDir& dir) {
  auto out = dir.MasterCommand("show proc", 1000);
  return out.ok() ? ProxyMasterReloads(*out) : -1;
}

}  // namespace

ProxyWorkload::Outcome ProxyWorkload::Refresh() {
  auto routes = src_->Routes(spec_.env);
  if (!routes.ok()) {
    if (errors_logged_++ % 40 == 0) spdlog::warn("proxy {}: routes: {}", spec_.id, routes.status().ToString());
    return Outcome::kRetry;
  }
  auto certs = src_->Certs(spec_.env);
  if (!certs.ok()) {
    if (errors_logged_++ % 40 == 0) spdlog::warn("proxy {}: certificates: {}", spec_.id, certs.status().ToString());
    return Outcome::kRetry;
  }
  bool ingress_ready = false;
  // The ingress, once the container has its overlay address.
  {
    std::lock_guard<std::mutex> rl(relay_mu_);
    if (!relay_ && !socket_passed_) {
      auto r = IngressRelay::Open(o_.address, spec_.port, o_.relay_source);
      if (r.ok()) {
        relay_ = std::move(*r);
        relay_target_.clear();
      } else if (relay_error_ != r.status().message()) {
        relay_error_ = r.status().message();
        spdlog::error("proxy {}: {}", spec_.id, relay_error_);
      }
    }
    if (relay_ && !routes->self_addr.empty() && routes->self_addr != relay_target_) {
      relay_->SetTarget(routes->self_addr, spec_.port);
      relay_target_ = routes->self_addr;
    }
    if (relay_) relay_->SetFallbacks(routes->peers);
    ingress_ready = relay_ && (socket_passed_ || !relay_target_.empty());
  }

  ProxyConfigInput in = BaseConfigInput();
  std::map<std::string, std::string> files;  // rel -> content
  for (auto& c : *certs) {
    std::string rel = CertFileFor(c.name);
    in.sites.push_back(ProxySite{c.name, c.app, std::string(kInside) + "/" + rel});
    std::string pem = c.cert_pem;
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    pem += c.key_pem;
    crypto::Wipe(c.key_pem);
    files[rel] = std::move(pem);
  }
  if (routes->conn_limit > 0) in.conn_limit = static_cast<int>(routes->conn_limit);
  for (const auto& a : routes->apps) {
    in.limits[a.app] = ProxyAppLimits{a.rate_limit, a.body_limit};
    auto& v = in.servers[a.app];
    for (const auto& b : a.backends) v.push_back(ProxyServer{b.job_id, b.addr, b.port});
  }
  // These files hold the state of every notice that came before the fetch.
  ProxyNotice notice = notice_;
  notice_ = {};
  auto out = RenderProxyConfig(in);
  // A replica that left the routes gets no new request from now on, not
  // from the reload's end (60-450 ms later: strider/proxy_runtime.h); when
  // servers are all that changed, the runtime API applies the whole change
  // (strider/proxy_server_plan.h).
  // Not while a reload is in flight: its new worker may have read the files
  // before they changed.
  const bool may_use_runtime = running_ && reload_.RuntimeOnly() && !live_.cfg.empty();
  ProxyServerPlan plan;
  if (running_)
    plan = PlanServerChanges({live_.cfg, live_.servers}, {out.haproxy_cfg, out.servers}, servers_, may_use_runtime);
  bool all_taken = true;
  if (!plan.leaving.empty() || !plan.back.empty() || !plan.to_add.empty()) {
    ProcView procs = ReadProcs();
    if (!plan.leaving.empty())
      all_taken = ChangeAll(procs, plan.leaving, {ProxyServerChange::kMaint}, "out of rotation ahead of the reload");
    if (!plan.back.empty())
      all_taken = ChangeAll(procs, plan.back, {ProxyServerChange::kReady, ProxyServerChange::kHealthUp},
                            "back in rotation by the runtime API") &&
                  all_taken;
    if (!plan.to_add.empty()) all_taken = AddServers(procs.current, plan.to_add) && all_taken;
    // Sent, taken or not: a change not taken whole is the reload's, which
    // empties the state.
    ApplyServerPlan(plan, &servers_);
  }
  std::string cfg = out.haproxy_cfg;
  std::map<std::string, std::string> maps{{kProxyBodyMapFile, out.body_map}, {kProxyRateMapFile, out.rate_map}};
  // The rendered files by name; they are never under certs/, but assign
  // rather than merge so a rendered file always wins over a stale entry.
  for (auto& [rel, content] : out.ByName()) files[rel] = std::move(content);
  // The certificates that changed, with their keys, kept in case the
  // runtime API can carry the change (wiped once used).
  std::map<std::string, std::string> new_certs;  // path as HAProxy sees it -> PEM
  const std::set<std::string> changed_files = WriteChanged(files, may_use_runtime ? &new_certs : nullptr);
  const bool changed = !changed_files.empty();
  // written_ changes only on this thread.
  if (written_.count(kProxyConfigFile))
    on_disk_ = {std::move(cfg), std::move(out.servers), std::move(maps), ProxyNames{out.crt_list, out.hosts_map}};
  bool by_runtime = changed && plan.runtime && all_taken && changed_files == std::set<std::string>{kProxyConfigFile};
  // Only limits, names or certificates changed (`rv config:set ROUTER_*`,
  // `rv domains:add` for an app the proxy routes, a certificate issued or
  // renewed): map entries and `ssl` commands, taken by the current worker
  // at once; the files on disk already hold them, so no reload follows.
  auto is_map = [](const std::string& f) { return f == kProxyBodyMapFile || f == kProxyRateMapFile; };
  auto is_name = [](const std::string& f) {
    return f == kProxyCrtListFile || f == kProxyHostsMapFile || f.rfind("certs/", 0) == 0;
  };
  bool files_only = changed && std::all_of(changed_files.begin(), changed_files.end(),
                                           [&](const std::string& f) { return is_map(f) || is_name(f); });
  bool names = std::any_of(changed_files.begin(), changed_files.end(), is_name);
  bool maps_changed = std::any_of(changed_files.begin(), changed_files.end(), is_map);
  bool by_files = false;
  if (files_only && may_use_runtime) {
    const ProcView procs = ReadProcs();
    by_files = (!names || ChangeNames(procs.current, live_.names, on_disk_.names, new_certs)) &&
               (!maps_changed || ChangeMaps(procs, live_.maps, on_disk_.maps));
  }
  for (auto& [path, pem] : new_certs) crypto::Wipe(pem);
  if (by_files) {
    live_.maps = on_disk_.maps;
    live_.names = on_disk_.names;
    LogLive(notice, " (by the runtime API)");
  } else if (by_runtime) {
    LogLive(notice, " (by the runtime API)");
    // The files are the loaded ones again (nothing out of rotation or added
    // any more): no reload. Else it can wait a little: a replica that left
    // often comes back soon, and a deploy's next step comes within seconds.
    if (plan.settled) {
      reload_.Settled();
    } else {
      reload_.AppliedByRuntime(MonotonicMs(), kRuntimeReloadWaitMs);
    }
  } else if (changed) {
    reload_.Changed(notice);
  }
  Outcome o = FinishReload(by_runtime || by_files);
  return ingress_ready ? o : Outcome::kRetry;
}

std::set<std::string> ProxyWorkload::WriteChanged(std::map<std::string, std::string>& files,
                                                  std::map<std::string, std::string>* certs) {
  std::set<std::string> changed;
  std::map<std::string, std::string> now;  // rel -> sha256 of what is on disk
  for (auto& [rel, content] : files) {
    std::string h = crypto::Sha256Hex(content);
    now[rel] = h;
    auto it = written_.find(rel);
    if (it == written_.end() || it->second != h) {
      Status s = run_dir_.Write(rel, content, 0600);
      if (!s.ok()) {
        spdlog::error("proxy {}: {}", spec_.id, s.message());
        now.erase(rel);
      }
      changed.insert(rel);
      if (certs && rel.rfind("certs/", 0) == 0) (*certs)[std::string(kInside) + "/" + rel] = content;
    }
    crypto::Wipe(content);
  }
  for (const auto& [rel, _] : written_) {
    if (!now.count(rel) && rel.rfind("certs/", 0) == 0) {
      if (Status s = run_dir_.Remove(rel); !s.ok()) spdlog::warn("proxy {}: {}", spec_.id, s.message());
      changed.insert(rel);
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  written_ = std::move(now);
  return changed;
}

// Drives the reload of the files on disk; once HAProxy runs them, they are
// what the next change is compared with.
ProxyWorkload::Outcome ProxyWorkload::FinishReload(bool applied_by_runtime) {
  bool taken = AdvanceReload();
  if (!reload_.live()) return Outcome::kReloadPending;
  live_ = on_disk_;
  servers_ = {};
  return taken || applied_by_runtime ? Outcome::kApplied : Outcome::kUnchanged;
}

// HAProxy's master CLI: "reload" makes a new worker from the files on disk;
// the old one finishes its connections. reload_ (strider/proxy_reload.h)
// says when to send one and when it was taken; this drives it for up to
// ~1 s or until a notice comes, then the refresh loop comes back. True if
// one was taken.
bool ProxyWorkload::AdvanceReload() {
  bool taken = false;
  for (int i = 0; i < 20 && (reload_.in_flight() || reload_.ShouldSend(MonotonicMs())); ++i) {
    int64_t count = MasterReloads(run_dir_);
    auto t = reload_.Observe(count, MonotonicMs());
    if (t.taken) {
      ++reloads_;
      taken = true;
      LogLive(t.notice, "");
      continue;  // files changed meanwhile: reload again at once
    }
    if (reload_.ShouldSend(MonotonicMs())) {
      if (count < 0) break;  // the master does not answer yet: next turn
      if (!run_dir_.MasterCommand("reload", 2000).ok()) break;
      reload_.Sent(count, MonotonicMs());
    }
    // A notice ends the wait: its fetch, and a replica it takes out of
    // rotation, must not queue behind a reload (the loop comes back at once).
    std::unique_lock<std::mutex> l(mu_);
    if (cv_.wait_for(l, std::chrono::milliseconds(50), [this] { return stop_ || wake_; })) break;
  }
  return taken;
}

// Every worker, old ones too: they still answer their keep-alive clients.
// Best effort: a reload sets every server right anyway. True if every
// worker took every command.
bool ProxyWorkload::ChangeServers(const std::vector<int64_t>& workers, const std::vector<std::string>& servers,
                                  const std::vector<ProxyServerChange>& changes, const char* what) {
  int done = 0;
  for (int64_t pid : workers) {
    for (const auto& s : servers) {
      for (auto change : changes) {
        std::string cmd = ProxyServerCommand(pid, s, change);
        auto r = cmd.empty() ? Result<std::string>(Status::Invalid("a name the CLI cannot take"))
                             : run_dir_.MasterCommand(cmd, 1000);
        if (r.ok() && r->find_first_not_of(" \r\n") == std::string::npos) {
          ++done;
        } else {
          spdlog::debug("proxy {}: {}: {}", spec_.id, cmd, ShownAnswer(r));
        }
      }
    }
  }
  std::string names;
  for (const auto& s : servers) names += (names.empty() ? "" : ", ") + s.substr(s.find('/') + 1);
  int wanted = static_cast<int>(workers.size() * servers.size() * changes.size());
  spdlog::info("proxy {}: {} {} ({} of {} worker commands taken)", spec_.id, names, what, done, wanted);
  return !workers.empty() && done == wanted;
}

ProxyWorkload::ProcView ProxyWorkload::ReadProcs() {
  ProcView v;
  auto procs = run_dir_.MasterCommand("show proc", 1000);
  if (!procs.ok()) return v;
  v.workers = ProxyWorkerPids(*procs);
  v.current = ProxyCurrentWorker(*procs);
  return v;
}

// Servers of the loaded files go to every worker (old ones still answer
// their keep-alive clients); their trackers follow them. Servers added by
// the runtime API are only in the current worker, and their twins check on
// their own, so those go there with their twins.
bool ProxyWorkload::ChangeAll(const ProcView& procs, const std::vector<std::string>& servers,
                              const std::vector<ProxyServerChange>& changes, const char* what) {
  std::vector<std::string> loaded, dynamic;
  for (const auto& s : servers) {
    auto it = servers_.added.find(s);
    if (it == servers_.added.end()) {
      loaded.push_back(s);
    } else {
      dynamic.insert(dynamic.end(), it->second.names.begin(), it->second.names.end());
    }
  }
  bool ok = true;
  if (!loaded.empty()) ok = ChangeServers(procs.workers, loaded, changes, what);
  if (!dynamic.empty()) {
    std::vector<int64_t> current;
    if (procs.current > 0) current.push_back(procs.current);
    ok = ChangeServers(current, dynamic, changes, what) && ok;
  }
  return ok;
}

// `cmds` in order to worker `worker`, up to the first it refuses; the lines
// sent are wiped (a payload may hold a key) and only a command's first line
// is logged. Returns how many it took.
size_t ProxyWorkload::SendInOrder(int64_t worker, const std::vector<std::string>& cmds) {
  size_t done = 0;
  for (const auto& cmd : cmds) {
    if (worker <= 0) break;
    std::string line = "@!" + std::to_string(worker) + " " + cmd;
    auto r = run_dir_.MasterCommand(line, 2000);
    crypto::Wipe(line);
    if (!r.ok() || !ProxyCliTook(*r)) {
      spdlog::debug("proxy {}: {}: {}", spec_.id, cmd.substr(0, cmd.find('\n')), ShownAnswer(r));
      break;
    }
    ++done;
  }
  return done;
}

// Each server's commands in order to the current worker; a server counts as
// added once it took all of them.
bool ProxyWorkload::AddServers(int64_t worker, const std::map<std::string, ProxyRuntimeServer>& servers) {
  size_t done = 0, wanted = 0;
  std::string names;
  for (const auto& [server, r] : servers) {
    wanted += r.cmds.size();
    names += (names.empty() ? "" : ", ") + server.substr(server.find('/') + 1);
    done += SendInOrder(worker, r.cmds);
  }
  spdlog::info("proxy {}: {} added by the runtime API ({} of {} commands taken by the current worker)", spec_.id,
               names, done, wanted);
  return done == wanted;
}

bool ProxyWorkload::ChangeNames(int64_t worker, const ProxyNames& from, const ProxyNames& to,
                                const std::map<std::string, std::string>& certs) {
  auto cmds = ProxyNameCommands(std::string(kInside) + "/" + kProxyCrtListFile,
                                std::string(kInside) + "/" + kProxyHostsMapFile, from, to, certs);
  if (!cmds.ok()) {
    spdlog::info("proxy {}: names by a reload: {}", spec_.id, cmds.status().message());
    return false;
  }
  size_t done = SendInOrder(worker, *cmds);
  for (auto& cmd : *cmds) crypto::Wipe(cmd);
  spdlog::info("proxy {}: names and certificates set by the runtime API ({} of {} commands taken by the current worker)",
               spec_.id, done, cmds->size());
  return done == cmds->size();
}

bool ProxyWorkload::ChangeMaps(const ProcView& procs, const std::map<std::string, std::string>& from,
                               const std::map<std::string, std::string>& to) {
  const int64_t current = procs.current;
  if (current < 0) return false;
  int done = 0, wanted = 0;
  bool current_took_all = true;
  // Old workers too, best effort: they still answer their keep-alive
  // clients, but may hold older maps, so a command may not fit them.
  for (int64_t pid : procs.workers) {
    for (const auto& [rel, content] : to) {
      auto f = from.find(rel);
      auto cmds = ProxyMapCommands(pid, std::string(kInside) + "/" + rel, f == from.end() ? "" : f->second, content);
      if (!cmds.ok()) {
        spdlog::warn("proxy {}: {}: {}", spec_.id, rel, cmds.status().ToString());
        return false;
      }
      for (const auto& cmd : *cmds) {
        auto r = run_dir_.MasterCommand(cmd, 1000);
        bool ok = r.ok() && r->find_first_not_of(" \r\n") == std::string::npos;
        if (!ok) spdlog::debug("proxy {}: {}: {}", spec_.id, cmd, ShownAnswer(r));
        if (pid == current) {
          ++wanted;
          done += ok;
          current_took_all = current_took_all && ok;
        }
      }
    }
  }
  spdlog::info("proxy {}: limits set by the runtime API ({} of {} commands taken by the current worker)", spec_.id,
               done, wanted);
  return current_took_all;
}

}  // namespace rv::strider
