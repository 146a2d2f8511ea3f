// ContainerRuntime: what all containers on one host share.
//
//   <state_dir>/images/                 the ImageStore (blobs, unpacked layers)
//   <state_dir>/containers/<id>/        upper/ work/ (overlay), rootfs/ (the mount), console.log*
//   <run_dir>/                          a tmpfs we mount (or find) here, mode 0700:
//   <run_dir>/bundles/<id>/config.json  the OCI config, holding the env and so the secrets
//   <run_dir>/runc/                     runc's --root (its state.json has the env too)
//
// Secrets therefore only ever sit on tmpfs: a host reboot or a stolen disk
// shows none. Open refuses to run if run_dir cannot be made a tmpfs.
//
// It also hands out veth /30 blocks, holds the overlay's NetworkHook, and
// garbage-collects dead containers (mounts, netns, runc state, dirs) and images
// no container uses.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <sys/types.h>

#include "common/counters.h"
#include "common/host_layout.h"
#include "strider/container/console_input.h"
#include "strider/container/image_store.h"
#include "strider/container/netns.h"

namespace rv::container {

struct RuntimeOptions {
  std::string state_dir = "/var/lib/rivendell";
  std::string run_dir = "/run/rivendell";
  int64_t run_tmpfs_mb = 64;
  std::string registry = "127.0.0.1:5000";      // for image refs without a registry
  std::string registry_ca;                       // its CA (https) and pull credential, "" = none
  std::string registry_auth;
  std::string runc = "/usr/sbin/runc";
  std::string cgroup_parent = "/rivendell";
  uint32_t default_uid = 10000, default_gid = 10000;
  int64_t pids_limit = 256;
  uint64_t nofile = 1024;
  int64_t default_memory_mb = 512;   // when the job names none
  int64_t log_max_bytes = 1 << 20;
  int log_keep = 3;
  int backoff_initial_ms = 250;
  int backoff_max_ms = 30000;
  int stable_after_ms = 10000;
  int start_timeout_ms = 30000;      // health must pass within this, else unhealthy
  int unhealthy_after = 3;           // consecutive failed probes
  bool veth = true;
  std::string veth_pool = "10.250";  // /30 blocks of 10.250.0.0/16
  UnpackOptions unpack;
  // How long GcImages keeps an image just pulled that no container holds yet
  // (ImageStore::Options::handed_out_grace_ms).
  int64_t image_grace_ms = 10 * 60 * 1000;
};

class ContainerRuntime {
 public:
  static Result<std::unique_ptr<ContainerRuntime>> Open(RuntimeOptions o);
  ~ContainerRuntime();

  const RuntimeOptions& options() const { return opt_; }
  ImageStore& images() { return *images_; }
  Counters& counters() { return counters_; }
  // The stdin of this host's console jobs (strider/container/console_input.h).
  ConsoleInputs& console_inputs() { return console_inputs_; }

  void SetNetworkHook(NetworkHook h);
  NetworkHook network_hook();
  // Called synchronously by Container::Adopt for an adopted container of an
  // environment, before its supervisor re-attaches it through the
  // NetworkHook (the overlay registers it without waiting).
  using ReattachHook = std::function<void(const NetnsInfo&, const std::string& job_env)>;
  void SetReattachHook(ReattachHook h);
  ReattachHook reattach_hook();

  int AllocSubnet();
  // Marks a block in use (an adopted container's); false if it already is.
  bool ReserveSubnet(int idx);
  void FreeSubnet(int idx);

  // Container bookkeeping for GC: ids in use and the image each uses.
  void Register(const std::string& id, const std::string& manifest_digest);
  void Unregister(const std::string& id);

  std::string ContainerDir(const std::string& id) const { return host_layout::ContainerDir(opt_.state_dir, id); }
  std::string BundleDir(const std::string& id) const { return opt_.run_dir + "/bundles/" + id; }
  std::string RuncRoot() const { return opt_.run_dir + "/runc"; }
  // An environment proxy's run dir (haproxy.cfg, its certificates, the master
  // socket), bind-mounted at /run/proxy in a job of kind "proxy" (tmpfs).
  std::string ProxyDir(const std::string& id) const { return opt_.run_dir + "/proxy/" + id; }
  // The container's named netns (machine-wide names): its id plus a hash of
  // this runtime's run dir, so two striders on one machine (two pods with a job
  // of the same id) never share or delete each other's.
  std::string NetnsName(const std::string& id) const;

  // Removes every trace of containers that are not registered nor in
  // `spare` (e.g. journaled jobs about to start again): runc state, overlay
  // mounts, netns, bundles, container dirs (logs included). Returns how many
  // it removed. Safe against a container registering meanwhile: each id is
  // checked again under the lock before it goes, and its Register waits
  // until it is gone.
  int GcContainers(const std::set<std::string>& spare = {});
  // Removes the proxy run dirs (decrypted certificates and keys) of proxies
  // that are not registered nor in `spare`: what a strider that died left of
  // a proxy that died too. A proxy job writes its dir before its container
  // registers, so this may run only while no job is starting: at start-up,
  // after adoption. (A proxy that ends removes its own dir.) Returns how many.
  int GcProxyDirs(const std::set<std::string>& spare);
  // Drops images no registered container uses.
  Result<int64_t> GcImages();

  // Best-effort teardown of one container's host state (used by Container and GC).
  void Cleanup(const std::string& id, bool remove_dir);

 private:
  explicit ContainerRuntime(RuntimeOptions o) : opt_(std::move(o)) {}
  // The registered containers' ids plus `ids`: a snapshot, older at once.
  std::set<std::string> RegisteredAnd(std::set<std::string> ids);
  RuntimeOptions opt_;
  Counters counters_;
  ConsoleInputs console_inputs_;
  std::unique_ptr<ImageStore> images_;
  std::mutex mu_;
  NetworkHook hook_;
  ReattachHook reattach_;
  std::set<int> subnets_;
  std::map<std::string, std::string> live_;  // id -> manifest digest
  // Ids GcContainers is tearing down: Register waits for them, so a job that
  // starts again under the id of a dead container never has its new dir
  // removed by the GC that found the old one.
  std::set<std::string> collecting_;
  std::condition_variable collected_;
};

// Runs argv to completion, stdout/stderr captured (bounded); for runc calls.
Status RunTool(const std::vector<std::string>& argv, std::string* out = nullptr, int timeout_ms = 10000);

// Whether runc's state file <runc root>/<id>/state.json names a running
// container: its init pid runs with the start time runc recorded (not a
// reused pid), and it was started: a container cut between `runc create` and
// its start (the exec.fifo is still there, the init waits on it) runs no app
// and must not be adopted. Read directly: forking `runc state` per container
// makes adopting 100 take seconds. Sets *pid when alive.
bool RuncStateAlive(const std::string& state_json, pid_t* pid = nullptr);

// A strider's machine-wide tag, "<host id>-<8 hex of its absolute data dir>":
// its default run dir is /run/rivendell/<tag> and its cgroup parent
// /rivendell/<tag> (two pods on one machine may both have an "h1"). sceptre
// computes the same to find a host's debris.
std::string RuntimeTag(const std::string& host_id, const std::string& data_dir);

// Container ids: [a-z0-9_.-], from the job id, unique per job.
std::string ContainerIdFor(const std::string& job_id);

}  // namespace rv::container
