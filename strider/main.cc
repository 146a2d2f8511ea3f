// strider: the host agent daemon. One per host.
//
//   strider --pod pod.json --host-id h1 --key keys/h1.key [--data-dir DIR]
//           [--address IP] [--capacity-ram-mb N --capacity-disk-mb N --capacity-cpu-millis N]
//           [--sauron-api EP --sauron-pub EP --elrond EP] [--log-level info]
//           [--registry HOST:PORT] [--container-state-dir DIR] [--run-dir DIR] [--no-containers]
//           [--registry-ca FILE] [--registry-auth FILE] [--builder-registry-auth FILE]
//           [--restore-wait-ms N] [--builder PATH] [--no-builds]
//
// SIGTERM/SIGINT: stop every job, tell sauron (host.bye), exit. SIGUSR2: exit
// leaving the containers running (an upgrade); the next strider adopts them
// from its journal (<data-dir>/journal) and runc's state (docs/SCEPTRE.md).
//
// Jobs with an image run as runc containers (strider/container) when the
// container runtime opens (root, runc, a tmpfs for the run dir); otherwise the
// strider still runs plain-process jobs and fails image jobs with the reason.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/config.h"
#include "common/host_layout.h"
#include "common/log.h"
#include "common/server_keys.h"
#include "common/stop_signal.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "common/crypto/sha256.h"
#include "strider/agent.h"
#include "strider/container/container_runtime.h"
#include "strider/container/container_workload.h"
#include "strider/dispatch_workload.h"
#include "strider/drain_workload.h"
#include "strider/build_workload.h"
#include "strider/log_server.h"
#include "strider/overlay_driver.h"
#include "strider/process_workload.h"
#include "strider/proxy_notice_listener.h"
#include "strider/proxy_source.h"
#include "strider/proxy_workload.h"

namespace {

std::atomic<bool> g_release{false};
// SIGUSR2: exit for an upgrade, leaving every container running for the
// next strider to adopt (docs/SCEPTRE.md).
void OnRelease(int) {
  g_release = true;
  rv::stop_signal::Request();
}

struct Flags {
  std::string pod_path = "pod/pod.json", host_id, key_path, data_dir, address = "127.0.0.1", level = "info";
  std::string sauron_api, sauron_pub, elrond_ep;
  rv::strider::CapacityOverride cap;
  int heartbeat_ms = 0, stop_grace_ms = 5000, gc_interval_s = 60;
  std::string registry = "127.0.0.1:5000", container_state_dir, run_dir, veth_pool = "10.250";
  std::string registry_ca, registry_auth, builder_registry_auth;
  bool no_containers = false;
  bool no_aesni = false;
  std::string builder_bin;
  bool no_builds = false;
  std::string overlayd_socket;
  int overlay_mtu = 1500;
  int overlay_keepalive_ms = 1000;
  int drain_ms = 1000;
  int proxy_refresh_ms = 5000;
  int restore_wait_ms = 5000;
};

void AddFlags(CLI::App& app, Flags& f) {
  app.add_option("--pod", f.pod_path, "pod config (pod.json)");
  app.add_option("--host-id", f.host_id, "this host's id, as enrolled")->required();
  app.add_option("--key", f.key_path, "this host's CURVE key pair file (default <pod_dir>/keys/<host-id>.key)");
  app.add_option("--data-dir", f.data_dir, "job logs and state (default <pod_dir>/hosts/<host-id>)");
  app.add_option("--address", f.address, "underlay address other hosts reach this one at");
  app.add_option("--capacity-ram-mb", f.cap.ram_mb, "claim this much RAM (simulation; default: measured)");
  app.add_option("--capacity-disk-mb", f.cap.disk_mb, "claim this much disk (simulation; default: measured)");
  app.add_option("--capacity-cpu-millis", f.cap.cpu_millis, "claim this much CPU (default: cores x 1000)");
  app.add_option("--sauron-api", f.sauron_api, "override sauron.api from the pod config");
  app.add_option("--sauron-pub", f.sauron_pub, "override sauron.pub from the pod config");
  app.add_option("--elrond", f.elrond_ep, "override elrond.endpoint from the pod config");
  app.add_option("--heartbeat-ms", f.heartbeat_ms, "override the heartbeat interval sauron asks for");
  app.add_option("--stop-grace-ms", f.stop_grace_ms, "SIGTERM -> SIGKILL grace when stopping a job");
  app.add_option("--log-level", f.level, "trace|debug|info|warn|error");
  app.add_option("--registry", f.registry, "the pod's image registry, for image refs that name none");
  app.add_option("--registry-ca", f.registry_ca, "the pod CA: reach the registry over https, verified by it");
  app.add_option("--registry-auth", f.registry_auth, "the credential this host pulls with (user:password, 0600)");
  app.add_option("--builder-registry-auth", f.builder_registry_auth,
                 "the credential this host's builds push with (a build host only)");
  app.add_option("--container-state-dir", f.container_state_dir,
                 "image cache and container dirs (default <data-dir>/container)");
  app.add_option("--run-dir", f.run_dir, "tmpfs for bundles and runc state (default /run/rivendell/<host-id>)");
  app.add_option("--gc-interval-s", f.gc_interval_s, "how often to remove dead containers and unused images")
      ->check(CLI::Range(1, 86400));
  app.add_option("--veth-pool", f.veth_pool,
                 "A.B: container veth /30s come from A.B.0.0/16 (distinct per strider sharing a network namespace)");
  app.add_flag("--no-containers", f.no_containers, "do not open the container runtime (image jobs fail)");
  app.add_option("--builder", f.builder_bin,
                 "the builder binary for build jobs (default: ../builder/builder or builder next to strider)");
  app.add_flag("--no-builds", f.no_builds, "run no build jobs (they fail: this host runs no builds)");
  app.add_flag("--no-aesni", f.no_aesni,
               "report no AES-NI even if the CPU has it (jobs of AES-256-GCM environments are declined; tests)");
  app.add_option("--overlayd-socket", f.overlayd_socket,
                 "this host's overlayd control socket: containers of an environment join its overlay network");
  app.add_option("--overlay-mtu", f.overlay_mtu, "underlay MTU overlayd works with")->check(CLI::Range(576, 65535));
  app.add_option("--drain-ms", f.drain_ms,
                 "a web replica of an environment keeps running this long after sauron stops it, while its "
                 "environment's proxies stop sending it requests (0 = stop at once; docs/PROXY.md)");
  app.add_option("--proxy-refresh-ms", f.proxy_refresh_ms,
                 "environment proxies re-read sauron this often as a fallback; sauron's proxy.changed "
                 "notices make them re-read at once (docs/PROXY.md \"Refresh\")")
      ->check(CLI::Range(250, 3600000));
  app.add_option("--overlay-keepalive-ms", f.overlay_keepalive_ms,
                 "keepalive to overlayd this often (keep well under its --lease-ms); 0 = none")
      ->check(CLI::Range(0, 60000));
  app.add_option("--restore-wait-ms", f.restore_wait_ms,
                 "after a reboot, wait this long for sauron's word before starting the journal's jobs on its own")
      ->check(CLI::Range(0, 600000));
}

// The pod, this host's key and the servers' keys: the agent's identity.
struct Identity {
  rv::PodConfig cfg;
  rv::transport::CurveKeypair key;
  std::string sauron_key, elrond_key;
};

rv::Result<Identity> LoadIdentity(Flags& f) {
  auto cfg = rv::LoadPodConfig(f.pod_path);
  if (!cfg.ok()) return cfg.status();
  if (f.key_path.empty()) f.key_path = cfg->KeyPath(f.host_id);
  auto key = rv::transport::LoadKeypair(f.key_path);
  if (!key.ok()) return key.status();
  auto skey = rv::SauronPublicKey(*cfg);
  auto ekey = rv::ElrondPublicKey(*cfg);
  if (!skey.ok() || !ekey.ok()) {
    return rv::Status::Invalid("cannot load server keys: " + (!skey.ok() ? skey.status() : ekey.status()).ToString());
  }
  if (f.data_dir.empty()) f.data_dir = rv::host_layout::DefaultDataDir(cfg->pod_dir, f.host_id);
  std::error_code ec;
  std::filesystem::create_directories(rv::host_layout::LogDir(f.data_dir), ec);
  if (ec) return rv::Status::Io("cannot create data dir " + f.data_dir + ": " + ec.message());
  return Identity{std::move(*cfg), std::move(*key), std::move(*skey), std::move(*ekey)};
}

rv::strider::AgentOptions MakeAgentOptions(const Flags& f, const Identity& id) {
  rv::strider::AgentOptions opts;
  opts.host_id = f.host_id;
  opts.address = f.address;
  opts.key = id.key;
  opts.sauron_api = f.sauron_api.empty() ? id.cfg.sauron.api : f.sauron_api;
  opts.sauron_pub = f.sauron_pub.empty() ? id.cfg.sauron.pub : f.sauron_pub;
  opts.sauron_public_key = id.sauron_key;
  opts.elrond_endpoint = f.elrond_ep.empty() ? id.cfg.elrond.endpoint : f.elrond_ep;
  opts.elrond_public_key = id.elrond_key;
  opts.data_dir = f.data_dir;
  opts.capacity = f.cap;
  opts.heartbeat_ms = f.heartbeat_ms;
  opts.zmtp_heartbeat_ms = id.cfg.sauron.zmtp_heartbeat_ms;
  opts.zmtp_timeout_ms = 3 * id.cfg.sauron.zmtp_heartbeat_ms;  // silence is judged by sauron (beacons)
  opts.stop_grace_ms = f.stop_grace_ms;
  opts.journal_dir = f.data_dir + "/journal";
  opts.restore_wait_ms = f.restore_wait_ms;
  opts.on_restored = [data_dir = f.data_dir](const rv::strider::RestoreReport& r) {
    // Read by `sceptre status`.
    std::error_code ec;
    std::filesystem::create_directories(data_dir + "/sceptre", ec);
    std::ofstream out(data_dir + "/sceptre/strider-restore.json");
    out << "{\"adopted\": " << r.adopted << ", \"pending\": " << r.pending << ", \"restarted\": " << r.restarted
        << ", \"fenced\": " << r.fenced << ", \"offline\": " << r.offline << ", \"corrupt\": " << r.corrupt
        << ", \"adopt_ms\": " << r.adopt_ms << "}\n";
  };
  opts.aesni = !f.no_aesni && sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() != 0;
  return opts;
}

// Where containers' state (and console logs) live: --container-state-dir,
// else under the data dir.
std::string ContainerStateDirOf(const Flags& f) {
  return f.container_state_dir.empty() ? rv::host_layout::ContainerStateDir(f.data_dir) : f.container_state_dir;
}

// The container runtime, or null and why not (image jobs then fail, plain
// processes run). Per-host state and run dirs, so several striders on one
// machine (tests, the demo pod) never share containers.
std::unique_ptr<rv::container::ContainerRuntime> OpenContainers(const Flags& f, std::string* why_not) {
  *why_not = "disabled by --no-containers";
  if (f.no_containers) return nullptr;
  rv::container::RuntimeOptions ro;
  ro.state_dir = ContainerStateDirOf(f);
  // Two pods on one machine may both have an "h1": key the machine-wide
  // names (run dir, cgroup parent) by the data dir too, or one strider's GC
  // would remove the other's containers.
  std::string tag = rv::container::RuntimeTag(f.host_id, f.data_dir);
  ro.run_dir = f.run_dir.empty() ? "/run/rivendell/" + tag : f.run_dir;
  ro.registry = f.registry;
  ro.registry_ca = f.registry_ca;
  ro.registry_auth = f.registry_auth;
  ro.veth_pool = f.veth_pool;
  ro.cgroup_parent = "/rivendell/" + tag;
  auto rt = rv::container::ContainerRuntime::Open(ro);
  if (!rt.ok()) {
    *why_not = rt.status().message();
    spdlog::warn("[{}] no container runtime: {}; image jobs will fail, plain processes run", f.host_id, *why_not);
    return nullptr;
  }
  // Stale containers are collected once the agent adopted the live ones.
  spdlog::info("[{}] container runtime open (state {}, run {}, registry {})", f.host_id, ro.state_dir, ro.run_dir,
               f.registry);
  return std::move(*rt);
}

// The driver of this host's overlayd, hooked into the runtime so containers
// of an environment join its overlay; null without --overlayd-socket.
std::unique_ptr<rv::strider::OverlayDriver> MakeOverlay(zmq::context_t& ctx, const Flags& f, const Identity& id,
                                                        const rv::strider::AgentOptions& opts,
                                                        rv::container::ContainerRuntime* runtime) {
  if (f.overlayd_socket.empty()) return nullptr;
  rv::strider::OverlayDriverOptions oo;
  oo.host_id = f.host_id;
  oo.address = f.address;
  oo.key = id.key;
  oo.sauron_api = opts.sauron_api;
  oo.sauron_pub = opts.sauron_pub;
  oo.sauron_public_key = id.sauron_key;
  oo.overlayd_socket = f.overlayd_socket;
  oo.underlay_mtu = f.overlay_mtu;
  oo.keepalive_ms = f.overlay_keepalive_ms;
  auto overlay = std::make_unique<rv::strider::OverlayDriver>(ctx, oo);
  // Started once the agent adopted what runs: its first document must hold
  // the adopted containers' attachments, or overlayd would drop them.
  if (runtime) {
    runtime->SetNetworkHook([o = overlay.get()](const rv::container::NetnsInfo& ns, const std::string& env) {
      return o->Attach(ns, env);
    });
    runtime->SetReattachHook([o = overlay.get()](const rv::container::NetnsInfo& ns, const std::string& env) {
      o->Expect(ns, env);
    });
  }
  spdlog::info("[{}] overlay: driving overlayd at {}", f.host_id, f.overlayd_socket);
  return overlay;
}

// Build jobs (docs/BUILDER.md "Builds as jobs"): this host's builder,
// reporting the output to sauron with this host's own key. Sets whether this
// host bids for them, and why not.
// Where this strider's builds make their dirs: one per data dir (several
// striders share a machine in tests and the demo), named like the run dir
// (RuntimeTag: scripts/pod down removes a pod's).
std::string BuildWorkDir(const Flags& f) {
  return "/var/lib/rivendell/build-work/" + rv::container::RuntimeTag(f.host_id, f.data_dir);
}

void AddBuilds(Flags& f, const Identity& id, rv::strider::AgentOptions& opts,
               const std::shared_ptr<rv::strider::ProcessWorkloadFactory>& processes,
               rv::strider::DispatchWorkloadFactory& factory, bool containers, const std::string& why_no_containers) {
  opts.builds = false;
  opts.no_builds_why = "disabled by --no-builds";
  if (f.no_builds) return;
  std::error_code ec;
  if (f.builder_bin.empty()) {
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    for (const auto& c : {exe / "../builder/builder", exe / "builder"}) {
      if (access(c.c_str(), X_OK) == 0) {
        f.builder_bin = std::filesystem::weakly_canonical(c, ec).string();
        break;
      }
    }
  }
  rv::strider::BuildHostOptions bo;
  bo.builder = f.builder_bin;
  bo.registry = f.registry;
  bo.registry_ca = f.registry_ca;
  bo.registry_auth = f.builder_registry_auth;
  bo.data_dir = std::filesystem::absolute(f.data_dir, ec).string();
  bo.work_dir = BuildWorkDir(f);  // only empty dirs stay between builds
  if (int n = rv::strider::RemoveLeftoverBuildEnvDirs(bo.data_dir)) {
    spdlog::info("[{}] removed {} config dir(s) of builds a previous strider ran", f.host_id, n);
  }
  if (containers) {
    std::filesystem::create_directories(bo.work_dir, ec);
    for (std::filesystem::path p = bo.work_dir; p != "/var/lib"; p = p.parent_path()) chmod(p.c_str(), 0755);
  }
  bo.sauron_api = opts.sauron_api;
  bo.sauron_public_key = id.sauron_key;
  bo.key_file = std::filesystem::absolute(f.key_path, ec).string();
  factory.SetBuilds(std::make_shared<rv::strider::BuildWorkloadFactory>(processes, bo));
  // The builder needs what containers need (root, runc, overlayfs).
  opts.builds = !f.builder_bin.empty() && containers;
  opts.no_builds_why =
      f.builder_bin.empty() ? "no builder found (give --builder)" : "no container runtime: " + why_no_containers;
  spdlog::info("[{}] build jobs: {}", f.host_id,
               f.builder_bin.empty() ? "no builder found (they will fail)" : f.builder_bin);
}

void InstallSignals() {
  rv::stop_signal::Install();
  struct sigaction sr {};
  sr.sa_handler = OnRelease;
  sigaction(SIGUSR2, &sr, nullptr);
}

// The agent's loop until a signal, with the runtime's periodic GC; then stop
// every job (or, for an upgrade, leave them running).
void RunUntilSignalled(rv::strider::Agent& agent, rv::container::ContainerRuntime* runtime, const Flags& f) {
  if (runtime) {
    // After adoption: what no journal entry runs. The journal's jobs that
    // wait for sauron's word keep their dirs (logs); they start again there.
    std::set<std::string> journaled;
    for (const auto& job : agent.pending_restore_jobs()) journaled.insert(rv::container::ContainerIdFor(job));
    int removed = runtime->GcContainers(journaled);
    if (removed > 0) spdlog::info("[{}] removed {} stale containers", f.host_id, removed);
    int keys = runtime->GcProxyDirs(journaled);
    if (keys > 0) spdlog::info("[{}] removed the run dirs (certificates, keys) of {} dead proxies", f.host_id, keys);
  }
  auto next_gc = std::chrono::steady_clock::now() + std::chrono::seconds(f.gc_interval_s);
  while (!rv::stop_signal::Requested()) {
    agent.RunOnce(50);
    if (runtime && std::chrono::steady_clock::now() >= next_gc) {
      next_gc = std::chrono::steady_clock::now() + std::chrono::seconds(f.gc_interval_s);
      int removed = runtime->GcContainers();
      auto freed = runtime->GcImages();
      if (removed > 0 || (freed.ok() && *freed > 0)) {
        spdlog::info("[{}] gc: removed {} dead containers, freed {} bytes of images", f.host_id, removed,
                     freed.ok() ? *freed : 0);
      }
      if (!freed.ok()) spdlog::warn("[{}] image gc: {}", f.host_id, freed.status().ToString());
    }
  }
  if (g_release) {
    spdlog::info("[{}] exiting for an upgrade: {} jobs keep running", f.host_id, agent.running_jobs());
    agent.Release();
  } else {
    spdlog::info("[{}] shutting down: stopping {} jobs", f.host_id, agent.running_jobs());
    agent.Shutdown(f.stop_grace_ms + 1000);
  }
}

// After a clean stop nothing of the runtime stays: dead containers, our
// tmpfs run dir, our (now empty) cgroup parents. After SIGUSR2 everything
// stays for the next strider.
void CloseContainers(std::unique_ptr<rv::container::ContainerRuntime> runtime, const Flags& f) {
  if (!runtime) return;
  if (g_release) return;  // containers, mounts, netns and the run dir stay
  std::string rd = runtime->options().run_dir;
  std::string cg_parent = runtime->options().cgroup_parent;
  runtime->GcContainers();
  runtime.reset();
  if (f.run_dir.empty() && umount2(rd.c_str(), MNT_DETACH) == 0) rmdir(rd.c_str());
  // rmdir refuses a non-empty cgroup, so a container that could not be
  // stopped keeps its own.
  std::error_code ec;
  for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup", ec)) {
    if (!cg_parent.empty()) rmdir((h.path().string() + cg_parent).c_str());
  }
}

}  // namespace

// 1. flags; 2. the pod and keys (identity); 3. the container runtime; 4. the
// agent's workloads (processes, containers, builds); 5. the overlay driver; 6. start
// the agent (adopting what runs), then the overlay; 7. loop until a signal;
// 8. stop or release the jobs, then close the runtime.
int main(int argc, char** argv) {
  CLI::App app{"strider: the Rivendell host agent"};
  Flags f;
  AddFlags(app, f);
  CLI11_PARSE(app, argc, argv);
  if (f.cap.ram_mb < 0 || f.cap.disk_mb < 0 || f.cap.cpu_millis < 0) {
    fprintf(stderr, "strider: capacities must not be negative\n");
    return 2;
  }
  rv::InitLogging("strider", f.level);
  auto id = LoadIdentity(f);
  if (!id.ok()) {
    spdlog::critical("{}", id.status().ToString());
    return 1;
  }
  rv::strider::AgentOptions opts = MakeAgentOptions(f, *id);

  std::string why_no_containers;
  std::unique_ptr<rv::container::ContainerRuntime> runtime = OpenContainers(f, &why_no_containers);
  std::shared_ptr<rv::strider::WorkloadFactory> containers;
  if (runtime) containers = std::make_shared<rv::container::ContainerWorkloadFactory>(*runtime);
  opts.containers = runtime != nullptr;
  opts.no_containers_why = why_no_containers;
  rv::strider::ProcessOptions popts;
  popts.log_dir = rv::host_layout::LogDir(f.data_dir);
  auto processes = std::make_shared<rv::strider::ProcessWorkloadFactory>(popts);
  auto factory = std::make_shared<rv::strider::DispatchWorkloadFactory>(processes, containers, why_no_containers);
  AddBuilds(f, *id, opts, processes, *factory, runtime != nullptr, why_no_containers);

  InstallSignals();
  zmq::context_t ctx = rv::transport::MakeContext(1, 1024);
  // Beacons from their own thread: a slow container start or image GC in the
  // loop must not make sauron think this host died.
  rv::strider::BeaconPump beacon_pump;
  opts.beacon_pump = &beacon_pump;
  {
    std::unique_ptr<rv::strider::OverlayDriver> overlay = MakeOverlay(ctx, f, *id, opts, runtime.get());
    std::unique_ptr<rv::strider::ProxyNoticeListener> proxy_notices;  // outlives the agent's proxies
    if (runtime && overlay) {
      // Environment proxies (docs/PROXY.md): containers on the overlay, their
      // ingress on this host's underlay address.
      rv::strider::ProxyHostOptions po;
      po.address = f.address;
      po.refresh_ms = f.proxy_refresh_ms;
      po.wakeups = std::make_shared<rv::strider::ProxyWakeups>();
      proxy_notices = std::make_unique<rv::strider::ProxyNoticeListener>(
          ctx, rv::strider::ProxyNoticeOptions{f.host_id, opts.sauron_pub, id->key, id->sauron_key}, po.wakeups);
      proxy_notices->Start();
      auto src = std::make_shared<rv::strider::SauronProxySource>(ctx, f.host_id, opts.sauron_api, id->key, id->sauron_key);
      factory->SetProxies(std::make_shared<rv::strider::ProxyWorkloadFactory>(*runtime, po, src));
    }
    // rv logs through sauron (common/msg/logs.h): this host reads its own
    // files; and rv run's input (common/msg/job_input.h) for its one-offs.
    rv::strider::LogServer logs(ctx, rv::strider::LogServerOptions{f.host_id, opts.sauron_api, opts.sauron_pub, id->key,
                                                                   id->sauron_key, f.data_dir, ContainerStateDirOf(f),
                                                                   runtime ? &runtime->console_inputs() : nullptr});
    logs.Start();
    rv::strider::Agent agent(ctx, opts, std::make_shared<rv::strider::DrainingWorkloadFactory>(factory, f.drain_ms));
    if (rv::Status s = agent.Start(); !s.ok()) {
      spdlog::critical("{}", s.ToString());
      return 1;
    }
    if (overlay) overlay->Start();
    RunUntilSignalled(agent, runtime.get(), f);
    if (runtime) {
      runtime->SetNetworkHook(nullptr);
      runtime->SetReattachHook(nullptr);
    }
  }
  CloseContainers(std::move(runtime), f);
  // The build work dir, if no build left anything in it (a strider started
  // by a test leaves none behind; the next strider makes it again).
  rmdir(BuildWorkDir(f).c_str());
  return 0;
}
