// ProxyWorkload: a job of kind "proxy" (an environment's proxy, docs/PROXY.md
// "Environment proxy") on this host. It is a container job like any other
// (ContainerWorkload: the image from scripts/proxy-image, an address on the
// env's overlay, health check on its port, restart policy) plus three things
// the strider does around it:
//
//  1. Its run dir, <run_dir>/proxy/<container id> on the runtime's tmpfs,
//     bind-mounted at /run/proxy: haproxy.cfg, certs.list, the maps, the
//     certificates with their keys (0600, owned by the container's user), a
//     self-signed fallback certificate (HAProxy needs one for unknown SNI) and
//     HAProxy's master socket. Removed when the job stops.
//  2. A refresh thread: at start, whenever sauron's "proxy.changed" notice for
//     its env arrives (ProxyWakeups, fed by ProxyNoticeListener), and every
//     refresh_ms as a fallback (a lost notice heals), it asks sauron
//     (ProxySource) for the env's names and certificates and its healthy web
//     replicas, renders the configuration (RenderProxyConfig, pure) and, when
//     any file changed, writes it (write + rename) and reloads HAProxy
//     through the master socket: a master-worker reload is hitless (the old
//     worker finishes its connections, listening sockets pass to the new
//     one). What the runtime API can apply whole is applied at once instead
//     (strider/proxy_runtime.h): a replica that left or came back at its
//     address, a new replica (`add server` into the current worker; the
//     reload that follows a few seconds later only makes the files and the
//     worker one again), and a change of limits, names or certificates
//     only (map entries, `ssl cert` and `ssl crt-list` commands, with no
//     reload after it: the files on disk already hold it). Anything unfinished (sauron unreachable, a reload HAProxy
//     did not take, no ingress or overlay address yet) is retried every retry_ms;
//     when only the reload of files already written is left, it is driven
//     without fetching again until a notice comes (or refresh_ms passes).
//     sauron unreachable: the last configuration stays.
//  3. The ingress (proxy_relay.h): a socket listening on this host's
//     underlay address at spec.port, made before the container starts and
//     passed to it as fd 3 (socket activation: HAProxy `bind fd@3` accepts
//     the edge's connections itself). The relay on the same socket accepts
//     only while the container is down, and sends those connections to the
//     env's other proxies. After a strider restart the socket is taken back
//     from the running HAProxy (pidfd_getfd of its fd 3), so connections it
//     serves never notice; a proxy started by an older strider, without fd
//     3, keeps the old way: the relay accepts everything and connects to the
//     container's overlay address (host.proxy_routes' self_addr).
//
// Contract: the Workload one (strider/workload.h): callbacks come from the
// inner ContainerWorkload on the agent's thread. Keys are opened in memory,
// written only to the tmpfs run dir, and wiped from memory once written.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/msg/proxy_routes.h"
#include "strider/container/container_runtime.h"
#include "strider/container/container_workload.h"
#include "strider/proxy_config.h"
#include "strider/proxy_relay.h"
#include "strider/proxy_reload.h"
#include "strider/proxy_run_dir.h"
#include "strider/proxy_runtime.h"
#include "strider/proxy_server_plan.h"
#include "strider/proxy_wakeups.h"
#include "strider/workload.h"

namespace rv::strider {

// One name the proxy answers at, with its certificate and opened key.
struct ProxyCert {
  std::string name;
  std::string app;       // TENANT/ENV/APP
  std::string cert_pem;  // leaf + chain
  std::string key_pem;   // opened; the caller wipes it
};

// Where a proxy's state comes from (sauron in the strider, fakes in tests).
// Called from the workload's refresh thread only.
class ProxySource {
 public:
  virtual ~ProxySource() = default;
  virtual Result<msg::ProxyRoutes> Routes(const std::string& env) = 0;
  virtual Result<std::vector<ProxyCert>> Certs(const std::string& env) = 0;
};

struct ProxyHostOptions {
  std::string address;          // this host's underlay address: the ingress listens there
  int refresh_ms = 5000;         // fallback refresh; notices make it fetch at once
  int retry_ms = 250;            // after a refresh that could not finish
  std::shared_ptr<class ProxyWakeups> wakeups;  // null: the fallback refresh only
  uint32_t uid = 10000, gid = 10000;  // the proxy image's user (scripts/proxy-image)
  std::string openssl = "/usr/bin/openssl";
  std::string relay_source = "169.254.1.1";
};

class ProxyWorkload : public Workload {
 public:
  ProxyWorkload(container::ContainerRuntime& rt, ProxyHostOptions o, std::shared_ptr<ProxySource> src,
                StateCallback cb);
  ~ProxyWorkload() override;

  Status Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) override;
  void Stop(std::chrono::milliseconds grace) override;
  void Poll(int64_t now_ms) override;
  Status Adopt(const msg::JobSpec& spec) override;
  void Release() override;
  std::string image_digest() const override { return inner_.image_digest(); }
  RunState state() const override { return failed_ ? RunState::kFailed : inner_.state(); }
  bool done() const override { return failed_ || inner_.done(); }

  // The files the last refresh wrote (relative path -> sha256), for tests.
  std::map<std::string, std::string> written() const;
  int64_t reloads() const { return reloads_; }
  // The last notice -> configuration live time (ms, on this host's clock), -1 if none yet.
  int64_t last_notice_to_applied_ms() const { return last_notice_applied_ms_; }

 private:
  Status Prepare(const msg::JobSpec& spec, bool adopting);
  Status OpenIngress(bool adopting);
  ProxyConfigInput BaseConfigInput() const;
  void StartRefresh();
  void StopRefresh();
  void CloseIngress();
  void Loop();
  // kReloadPending: the files on disk are current, only their reload is unfinished.
  enum class Outcome { kUnchanged, kApplied, kRetry, kReloadPending };
  Outcome Refresh();
  Outcome FinishReload(bool applied_by_runtime);
  // Writes the files that differ from written_, removes certificates no
  // longer listed, and wipes `files`' contents; returns the changed names.
  // certs: if not null, gets a copy of each changed certificate (path as
  // HAProxy sees it -> PEM with its key), for the caller to wipe.
  std::set<std::string> WriteChanged(std::map<std::string, std::string>& files,
                                     std::map<std::string, std::string>* certs = nullptr);
  bool AdvanceReload();
  // The master's workers as `show proc` lists them; current -1: none known.
  struct ProcView {
    std::vector<int64_t> workers;
    int64_t current = -1;
  };
  ProcView ReadProcs();
  // The runtime API: `changes` to `servers`, in every worker for a loaded
  // server, in the current one (with its twins) for one added at runtime.
  bool ChangeAll(const ProcView& procs, const std::vector<std::string>& servers,
                 const std::vector<ProxyServerChange>& changes, const char* what);
  // The runtime API: `cmds` in order to worker `worker` (the current one)
  // until it refuses one; how many it took.
  size_t SendInOrder(int64_t worker, const std::vector<std::string>& cmds);
  // The runtime API: each server's commands to the current worker (pid
  // `worker`). True if it took every one.
  bool AddServers(int64_t worker, const std::map<std::string, ProxyRuntimeServer>& servers);
  // The runtime API: `changes` to `servers` in every worker in `workers`.
  bool ChangeServers(const std::vector<int64_t>& workers, const std::vector<std::string>& servers,
                     const std::vector<ProxyServerChange>& changes, const char* what);
  // The runtime API: names and certificates `from` -> `to` (ProxyNameCommands,
  // with `certs` the new and changed ones) in the current worker (pid
  // `worker`). True if it took every command.
  bool ChangeNames(int64_t worker, const ProxyNames& from, const ProxyNames& to,
                   const std::map<std::string, std::string>& certs);
  // The runtime API: the limit maps `from` -> `to` (name -> content) in every
  // worker of `procs`. True if the current one took every command.
  bool ChangeMaps(const ProcView& procs, const std::map<std::string, std::string>& from,
                  const std::map<std::string, std::string>& to);
  void LogLive(ProxyNotice notice, const char* how);

  container::ContainerRuntime& rt_;
  ProxyHostOptions o_;
  std::shared_ptr<ProxySource> src_;
  StateCallback cb_;
  container::ContainerWorkload inner_;
  bool failed_ = false;
  msg::JobSpec spec_;
  std::string dir_;
  ProxyRunDir run_dir_;  // dir_, which the container writes: every file and CLI operation goes by it
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;              // a notice came: fetch now
  int64_t woken_at_ms_ = 0;        // when the first notice since the last fetch came (monotonic)
  int64_t sauron_event_ms_ = 0;    // that notice's time on sauron's (wall) clock
  uint64_t wake_id_ = 0;
  std::atomic<int64_t> last_notice_applied_ms_{-1};
  std::atomic<bool> running_{false};  // the container, as Poll saw it: a notice is timed only while it runs
  std::mutex relay_mu_;  // relay_: made by the refresh thread, told about the container by Poll
  std::unique_ptr<IngressRelay> relay_;
  std::string relay_target_;
  std::string relay_error_;
  bool socket_passed_ = false;   // relay_'s listener is the container's fd 3 (else the relay connects to it)
  bool stopping_ = false;        // Stop was called: the relay takes the ingress (relay_mu_)
  std::map<std::string, std::string> written_;
  ProxyNotice notice_;             // the oldest notice no refresh fetched since (refresh thread)
  ProxyReload reload_;             // refresh thread
  // A haproxy.cfg, its servers ("backend/server", from the renderer), its
  // limit maps (file name -> content) and its names (crt-list, hosts map).
  struct ConfigFile {
    std::string cfg;
    std::vector<std::string> servers;
    std::map<std::string, std::string> maps;
    ProxyNames names;
  };
  ConfigFile on_disk_;             // the one last written
  ConfigFile live_;                // the one the last reload taken loaded (maps: and the runtime API set)
  ProxyServerState servers_;       // what the current worker runs beyond live_ (runtime API)
  std::atomic<int64_t> reloads_{0};
  bool cleaned_ = false;
  int64_t errors_logged_ = 0;
};

class ProxyWorkloadFactory : public WorkloadFactory {
 public:
  ProxyWorkloadFactory(container::ContainerRuntime& rt, ProxyHostOptions o, std::shared_ptr<ProxySource> src)
      : rt_(rt), o_(std::move(o)), src_(std::move(src)) {}
  std::unique_ptr<Workload> Create(const msg::JobSpec&, StateCallback cb) override {
    return std::make_unique<ProxyWorkload>(rt_, o_, src_, std::move(cb));
  }

 private:
  container::ContainerRuntime& rt_;
  ProxyHostOptions o_;
  std::shared_ptr<ProxySource> src_;
};

}  // namespace rv::strider
