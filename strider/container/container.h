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
//   3. runs `runc run --detach`: the app outlives this process (a strider
//      restart adopts it, see Adopt). Its stdout/stderr are a FIFO on the
//      run dir (<bundle>/stdio) that the app holds open read-write, so it
//      never sees EPIPE while no strider reads; the strider drains the FIFO
//      into a rotated LogFile (up to the pipe's 1 MiB while none does). Its
//      stdin is /dev/null, but a console job's is a FIFO <bundle>/stdin whose
//      write end goes to the runtime's ConsoleInputs (rv run's input) until
//      the app ends (an adopted one's input has ended). The
//      runtime makes this process a child subreaper, so the app, orphaned
//      when runc exits, is our child and its exit status ours to read,
//   4. watches: the app (pidfd), the memory cgroup's peak (so an OOM kill is
//      reported as such), health probes (TCP connect or
//      HTTP GET to the declared port from inside the container's netns),
//   5. on exit applies the restart policy (always | on-failure | never) with
//      exponential backoff, reset after a stable run; the overlay mount, netns
//      and upper layer survive restarts,
//   6. Stop(grace): `runc kill TERM`, `runc kill KILL` after the grace, then
//      unmounts, deletes the netns and the bundle.
//   7. Release(): lets go of a running app without stopping it (the strider
//      exits for an upgrade); Adopt() instead of Start() takes over an app a
//      previous strider started (runc state, the overlay mount, netns and
//      FIFO are found where it left them; <container dir>/adopt records the
//      image digest and the veth block): supervision, health checks and logs
//      resume, nothing restarts. An adopted app's exit status is unknown
//      (its parent is init now): it counts as a failure for the policy.
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

  // A descriptor the app gets as its fd 3 at every launch (`runc run
  // --preserve-fds 1`), e.g. a listening socket the host made for it (an env
  // proxy's ingress, strider/proxy_workload.h). Set before Start/Adopt; the
  // caller owns it and keeps it open while the container may start.
  void PassFd(int fd) { pass_fd_ = fd; }

  Status Start();
  // Takes over the running container of this job left by an earlier strider.
  // NotFound when there is none running (the caller then starts afresh).
  Status Adopt();
  // Stops supervising without touching the app (its state stays for Adopt).
  void Release();
  bool adopted() const { return adopted_pid_ > 0; }
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
  // How one run of the app ended.
  struct RunOutcome {
    bool failed = false;     // a non-zero exit, a signal, an OOM kill, or no start
    bool permanent = false;  // it never started: reported failed, not exited
    std::string detail;      // "code 1", "signal 9", "oom-killed ...", the start error
  };
  // One run of the app (or the adopted one's rest); a released container's
  // run ends with an empty outcome.
  RunOutcome RunOnce();
  // Starts runc detached; the app's pid, or -1 with *detail set.
  pid_t Launch(int* log_fd, std::string* detail);
  void WriteAdoptRecord();
  int64_t NextNetnsGeneration();
  uint64_t FreshGenerationSeed() const;  // the container id mixed with the clock
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
  std::atomic<bool> release_{false};
  pid_t adopted_pid_ = -1;
  std::atomic<int> restarts_{0};
  std::atomic<pid_t> app_pid_{-1};
  std::atomic<int64_t> started_ms_{0};
  std::atomic<int64_t> grace_ms_{10000};
  int pass_fd_ = -1;  // the app's fd 3, -1: none
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
