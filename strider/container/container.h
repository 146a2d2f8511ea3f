// Container: one job's container on this host, from image to exit, supervised
// by one thread of its own.
//
// Start() returns at once; the supervisor thread then
//   1. pulls the image (ImageStore: only missing blobs),
//   2. makes the netns + veth (NetworkHook lets the overlay take it over),
//      mounts overlayfs (lowerdir = the image's unpacked layers, read-only and
//      shared; upperdir/workdir = this container's own), writes the bundle's
//      config.json on tmpfs (the env holds the secrets; the in-memory copy is
//      wiped once written),
//   3. runs `runc run` in the foreground as its child: runc forwards our
//      signals to the app and exits with the app's status; the app's
//      stdout/stderr are pipes into a rotated LogFile,
//   4. watches: the runc process (pidfd), the memory cgroup's OOM eventfd
//      (so an OOM kill is reported as such), health probes (TCP connect or
//      HTTP GET to the declared port from inside the container's netns),
//   5. on exit applies the restart policy (always | on-failure | never) with
//      exponential backoff, reset after a stable run; the overlay mount, netns
//      and upper layer survive restarts,
//   6. Stop(grace): SIGTERM (forwarded by runc), SIGKILL via `runc kill` after
//      the grace, then unmounts, deletes the netns and the bundle.
//
// Every state change goes to the listener (from the supervisor thread):
// starting, running, unhealthy, exited(detail), failed(reason), stopped.
// Pull/prepare errors that cannot heal by retrying (image missing, corrupt or
// hostile content) end in failed for good; others (registry down, disk full)
// are retried under the restart policy.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/msg/types.h"
#include "strider/container/container_runtime.h"

namespace rv::container {

enum class CState { kNone, kStarting, kRunning, kUnhealthy, kExited, kFailed, kStopped };
const char* CStateName(CState s);

class Container {
 public:
  using Listener = std::function<void(CState, const std::string& detail)>;
  Container(ContainerRuntime& rt, msg::JobSpec spec, std::map<std::string, std::string> secrets, Listener l);
  ~Container();  // stops (grace 0) and joins if still running

  Status Start();
  // Asynchronous; the listener sees `stopped` when everything is torn down.
  void Stop(std::chrono::milliseconds grace);
  // Blocks until the supervisor is done (stopped, or exited/failed for good).
  bool WaitDone(std::chrono::milliseconds timeout);

  const std::string& id() const { return id_; }
  CState state() const { return state_.load(); }
  bool done() const { return done_.load(); }
  int restarts() const { return restarts_.load(); }
  pid_t app_pid() const { return app_pid_.load(); }   // host pid of the container's init
  std::string log_path() const;
  std::string netns_path() const { return netns_.path; }
  const NetnsInfo& netns() const { return netns_; }
  std::string image_digest() const { return image_digest_; }
  int64_t started_ms() const { return started_ms_.load(); }  // when the last run began (runc started)

 private:
  void Run();
  Status Prepare();
  Status WriteBundle(const Image& img);
  // One run of the app; returns the exit detail and whether it failed.
  void RunOnce(bool* failed, std::string* detail, bool* permanent);
  void Emit(CState s, const std::string& detail);
  bool SleepOrStop(int ms);
  void Teardown();

  ContainerRuntime& rt_;
  msg::JobSpec spec_;
  std::map<std::string, std::string> secrets_;
  Listener listener_;
  std::string id_;
  std::thread thread_;
  std::atomic<CState> state_{CState::kNone};
  std::atomic<bool> done_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> restarts_{0};
  std::atomic<pid_t> app_pid_{-1};
  std::atomic<int64_t> started_ms_{0};
  std::atomic<int64_t> grace_ms_{10000};
  int wake_fd_ = -1;  // eventfd: Stop() wakes the supervisor
  NetnsInfo netns_;
  int subnet_ = -1;
  bool mounted_ = false;
  std::string image_digest_;
  int64_t memory_limit_mb_ = 0;
  std::mutex done_mu_;
  std::condition_variable done_cv_;
};

}  // namespace rv::container
