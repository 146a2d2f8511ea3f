// strider: the host agent daemon. One per host.
//
//   strider --pod pod.json --host-id h1 --key keys/h1.key [--data-dir DIR]
//           [--address IP] [--capacity-ram-mb N --capacity-disk-mb N --capacity-cpu-millis N]
//           [--sauron-api EP --sauron-pub EP --elrond EP] [--log-level info]
//           [--registry HOST:PORT] [--container-state-dir DIR] [--run-dir DIR] [--no-containers]
//           [--restore-wait-ms N]
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
#include <unistd.h>

#include <sodium.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "common/config.h"
#include "common/host_layout.h"
#include "common/log.h"
#include "common/server_keys.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "common/crypto/sha256.h"
#include "strider/agent.h"
#include "strider/container/container_runtime.h"
#include "strider/container/container_workload.h"
#include "strider/dispatch_workload.h"
#include "strider/overlay_driver.h"
#include "strider/process_workload.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_release{false};
void OnSignal(int) { g_stop = true; }
// SIGUSR2: exit for an upgrade, leaving every container running for the
// next strider to adopt (docs/SCEPTRE.md).
void OnRelease(int) {
  g_release = true;
  g_stop = true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strider: the Rivendell host agent"};
  std::string pod_path = "pod/pod.json", host_id, key_path, data_dir, address = "127.0.0.1", level = "info";
  std::string sauron_api, sauron_pub, elrond_ep;
  rv::strider::CapacityOverride cap;
  int heartbeat_ms = 0, stop_grace_ms = 5000, gc_interval_s = 60;
  std::string registry = "127.0.0.1:5000", container_state_dir, run_dir, veth_pool = "10.250";
  bool no_containers = false;
  bool no_aesni = false;
  app.add_option("--pod", pod_path, "pod config (pod.json)");
  app.add_option("--host-id", host_id, "this host's id, as enrolled")->required();
  app.add_option("--key", key_path, "this host's CURVE key pair file (default <pod_dir>/keys/<host-id>.key)");
  app.add_option("--data-dir", data_dir, "job logs and state (default <pod_dir>/hosts/<host-id>)");
  app.add_option("--address", address, "underlay address other hosts reach this one at");
  app.add_option("--capacity-ram-mb", cap.ram_mb, "claim this much RAM (simulation; default: measured)");
  app.add_option("--capacity-disk-mb", cap.disk_mb, "claim this much disk (simulation; default: measured)");
  app.add_option("--capacity-cpu-millis", cap.cpu_millis, "claim this much CPU (default: cores x 1000)");
  app.add_option("--sauron-api", sauron_api, "override sauron.api from the pod config");
  app.add_option("--sauron-pub", sauron_pub, "override sauron.pub from the pod config");
  app.add_option("--elrond", elrond_ep, "override elrond.endpoint from the pod config");
  app.add_option("--heartbeat-ms", heartbeat_ms, "override the heartbeat interval sauron asks for");
  app.add_option("--stop-grace-ms", stop_grace_ms, "SIGTERM -> SIGKILL grace when stopping a job");
  app.add_option("--log-level", level, "trace|debug|info|warn|error");
  app.add_option("--registry", registry, "the pod's image registry, for image refs that name none");
  app.add_option("--container-state-dir", container_state_dir, "image cache and container dirs (default <data-dir>/container)");
  app.add_option("--run-dir", run_dir, "tmpfs for bundles and runc state (default /run/rivendell/<host-id>)");
  app.add_option("--gc-interval-s", gc_interval_s, "how often to remove dead containers and unused images")
      ->check(CLI::Range(1, 86400));
  app.add_option("--veth-pool", veth_pool, "A.B: container veth /30s come from A.B.0.0/16 (distinct per strider sharing a network namespace)");
  app.add_flag("--no-containers", no_containers, "do not open the container runtime (image jobs fail)");
  app.add_flag("--no-aesni", no_aesni,
               "report no AES-NI even if the CPU has it (jobs of AES-256-GCM environments are declined; tests)");
  std::string overlayd_socket;
  int overlay_mtu = 1500;
  app.add_option("--overlayd-socket", overlayd_socket,
                 "this host's overlayd control socket: containers of an environment join its overlay network");
  app.add_option("--overlay-mtu", overlay_mtu, "underlay MTU overlayd works with")->check(CLI::Range(576, 65535));
  int overlay_keepalive_ms = 1000;
  app.add_option("--overlay-keepalive-ms", overlay_keepalive_ms,
                 "keepalive to overlayd this often (keep well under its --lease-ms); 0 = none")
      ->check(CLI::Range(0, 60000));
  int restore_wait_ms = 5000;
  app.add_option("--restore-wait-ms", restore_wait_ms,
                 "after a reboot, wait this long for sauron's word before starting the journal's jobs on its own")
      ->check(CLI::Range(0, 600000));
  CLI11_PARSE(app, argc, argv);
  if (cap.ram_mb < 0 || cap.disk_mb < 0 || cap.cpu_millis < 0) {
    fprintf(stderr, "strider: capacities must not be negative\n");
    return 2;
  }

  rv::InitLogging("strider", level);
  auto cfg = rv::LoadPodConfig(pod_path);
  if (!cfg.ok()) {
    spdlog::critical("{}", cfg.status().ToString());
    return 1;
  }
  if (key_path.empty()) key_path = cfg->KeyPath(host_id);
  auto key = rv::transport::LoadKeypair(key_path);
  if (!key.ok()) {
    spdlog::critical("{}", key.status().ToString());
    return 1;
  }
  auto skey = rv::SauronPublicKey(*cfg);
  auto ekey = rv::ElrondPublicKey(*cfg);
  if (!skey.ok() || !ekey.ok()) {
    spdlog::critical("cannot load server keys: {}", (!skey.ok() ? skey.status() : ekey.status()).ToString());
    return 1;
  }
  if (data_dir.empty()) data_dir = rv::host_layout::DefaultDataDir(cfg->pod_dir, host_id);
  std::error_code ec;
  std::filesystem::create_directories(rv::host_layout::LogDir(data_dir), ec);
  if (ec) {
    spdlog::critical("cannot create data dir {}: {}", data_dir, ec.message());
    return 1;
  }

  rv::strider::AgentOptions opts;
  opts.host_id = host_id;
  opts.address = address;
  opts.key = *key;
  opts.sauron_api = sauron_api.empty() ? cfg->sauron.api : sauron_api;
  opts.sauron_pub = sauron_pub.empty() ? cfg->sauron.pub : sauron_pub;
  opts.sauron_public_key = *skey;
  opts.elrond_endpoint = elrond_ep.empty() ? cfg->elrond.endpoint : elrond_ep;
  opts.elrond_public_key = *ekey;
  opts.data_dir = data_dir;
  opts.capacity = cap;
  opts.heartbeat_ms = heartbeat_ms;
  opts.zmtp_heartbeat_ms = cfg->sauron.zmtp_heartbeat_ms;
  opts.zmtp_timeout_ms = 3 * cfg->sauron.zmtp_heartbeat_ms;  // silence is judged by sauron (beacons)
  opts.stop_grace_ms = stop_grace_ms;
  opts.journal_dir = data_dir + "/journal";
  opts.restore_wait_ms = restore_wait_ms;
  opts.on_restored = [data_dir](const rv::strider::RestoreReport& r) {
    // Read by `sceptre status`.
    std::error_code ec;
    std::filesystem::create_directories(data_dir + "/sceptre", ec);
    std::ofstream f(data_dir + "/sceptre/strider-restore.json");
    f << "{\"adopted\": " << r.adopted << ", \"pending\": " << r.pending << ", \"restarted\": " << r.restarted
      << ", \"fenced\": " << r.fenced << ", \"offline\": " << r.offline << ", \"corrupt\": " << r.corrupt
      << ", \"adopt_ms\": " << r.adopt_ms << "}\n";
  };

  rv::strider::ProcessOptions popts;
  popts.log_dir = rv::host_layout::LogDir(data_dir);

  // Per-host state and run dirs, so several striders on one machine (tests,
  // the demo pod) never share containers, veth names aside (see below).
  std::unique_ptr<rv::container::ContainerRuntime> runtime;
  std::shared_ptr<rv::strider::WorkloadFactory> containers;
  std::string why_no_containers = "disabled by --no-containers";
  if (!no_containers) {
    rv::container::RuntimeOptions ro;
    ro.state_dir = container_state_dir.empty() ? rv::host_layout::ContainerStateDir(data_dir) : container_state_dir;
    // Two pods on one machine may both have an "h1": key the machine-wide
    // names (run dir, cgroup parent) by the data dir too, or one strider's GC
    // would remove the other's containers.
    std::string tag = rv::container::RuntimeTag(host_id, data_dir);
    ro.run_dir = run_dir.empty() ? "/run/rivendell/" + tag : run_dir;
    ro.registry = registry;
    ro.veth_pool = veth_pool;
    ro.cgroup_parent = "/rivendell/" + tag;
    auto rt = rv::container::ContainerRuntime::Open(ro);
    if (rt.ok()) {
      runtime = std::move(*rt);
      containers = std::make_shared<rv::container::ContainerWorkloadFactory>(*runtime);
      // Stale containers are collected once the agent adopted the live ones.
      spdlog::info("[{}] container runtime open (state {}, run {}, registry {})", host_id, ro.state_dir, ro.run_dir,
                   registry);
    } else {
      why_no_containers = rt.status().message();
      spdlog::warn("[{}] no container runtime: {}; image jobs will fail, plain processes run", host_id,
                   why_no_containers);
    }
  }
  opts.containers = runtime != nullptr;
  opts.no_containers_why = why_no_containers;
  opts.aesni = !no_aesni && sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() != 0;
  auto factory = std::make_shared<rv::strider::DispatchWorkloadFactory>(
      std::make_shared<rv::strider::ProcessWorkloadFactory>(popts), containers, why_no_containers);

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction sr {};
  sr.sa_handler = OnRelease;
  sigaction(SIGUSR2, &sr, nullptr);
  signal(SIGPIPE, SIG_IGN);

  zmq::context_t ctx = rv::transport::MakeContext(1, 1024);
  // Beacons from their own thread: a slow container start or image GC in the
  // loop below must not make sauron think this host died.
  rv::strider::BeaconPump beacon_pump;
  opts.beacon_pump = &beacon_pump;
  {
    std::unique_ptr<rv::strider::OverlayDriver> overlay;
    if (!overlayd_socket.empty()) {
      rv::strider::OverlayDriverOptions oo;
      oo.host_id = host_id;
      oo.address = address;
      oo.key = *key;
      oo.sauron_api = opts.sauron_api;
      oo.sauron_pub = opts.sauron_pub;
      oo.sauron_public_key = *skey;
      oo.overlayd_socket = overlayd_socket;
      oo.underlay_mtu = overlay_mtu;
      oo.keepalive_ms = overlay_keepalive_ms;
      overlay = std::make_unique<rv::strider::OverlayDriver>(ctx, oo);
      // Started once the agent adopted what runs (below): its first document
      // must hold the adopted containers' attachments, or overlayd would drop them.
      if (runtime) {
        runtime->SetNetworkHook([o = overlay.get()](const rv::container::NetnsInfo& ns, const std::string& env) {
          return o->Attach(ns, env);
        });
        runtime->SetReattachHook([o = overlay.get()](const rv::container::NetnsInfo& ns, const std::string& env) {
          o->Expect(ns, env);
        });
      }
      spdlog::info("[{}] overlay: driving overlayd at {}", host_id, overlayd_socket);
    }
    rv::strider::Agent agent(ctx, opts, factory);
    if (rv::Status s = agent.Start(); !s.ok()) {
      spdlog::critical("{}", s.ToString());
      return 1;
    }
    if (overlay) overlay->Start();
    if (runtime) {
      // After adoption: what no journal entry runs. The journal's jobs that
      // wait for sauron's word keep their dirs (logs); they start again there.
      std::set<std::string> journaled;
      for (const auto& job : agent.pending_restore_jobs()) journaled.insert(rv::container::ContainerIdFor(job));
      int removed = runtime->GcContainers(journaled);
      if (removed > 0) spdlog::info("[{}] removed {} stale containers", host_id, removed);
    }
    auto next_gc = std::chrono::steady_clock::now() + std::chrono::seconds(gc_interval_s);
    while (!g_stop) {
      agent.RunOnce(50);
      if (runtime && std::chrono::steady_clock::now() >= next_gc) {
        next_gc = std::chrono::steady_clock::now() + std::chrono::seconds(gc_interval_s);
        int removed = runtime->GcContainers();
        auto freed = runtime->GcImages();
        if (removed > 0 || (freed.ok() && *freed > 0)) {
          spdlog::info("[{}] gc: removed {} dead containers, freed {} bytes of images", host_id, removed,
                       freed.ok() ? *freed : 0);
        }
        if (!freed.ok()) spdlog::warn("[{}] image gc: {}", host_id, freed.status().ToString());
      }
    }
    if (g_release) {
      spdlog::info("[{}] exiting for an upgrade: {} jobs keep running", host_id, agent.running_jobs());
      agent.Release();
    } else {
      spdlog::info("[{}] shutting down: stopping {} jobs", host_id, agent.running_jobs());
      agent.Shutdown(stop_grace_ms + 1000);
    }
    if (runtime) {
      runtime->SetNetworkHook(nullptr);
      runtime->SetReattachHook(nullptr);
    }
  }
  if (runtime && g_release) {
    runtime.reset();  // containers, mounts, netns and the run dir stay for the next strider
  } else if (runtime) {
    // Our own default run dir is a tmpfs the runtime mounted: leave nothing
    // behind (bundles are gone once the containers stopped).
    std::string rd = runtime->options().run_dir;
    std::string cg_parent = runtime->options().cgroup_parent;
    runtime->GcContainers();
    runtime.reset();
    if (run_dir.empty() && umount2(rd.c_str(), MNT_DETACH) == 0) rmdir(rd.c_str());
    // Our cgroup parent, now empty, in every v1 hierarchy (rmdir refuses a
    // non-empty one, so a container that could not be stopped keeps its own).
    std::error_code ec;
    for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup", ec)) {
      if (!cg_parent.empty()) rmdir((h.path().string() + cg_parent).c_str());
    }
  }
  return 0;
}
