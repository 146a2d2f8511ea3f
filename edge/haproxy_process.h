// HaproxyProcess: one HAProxy in master-worker mode (-W) run by the edge,
// its configuration file, and hitless reloads.
//
// Contract:
//  * Apply(text, names_map): does nothing if both are what runs. Otherwise it
//    writes the map (DIR/names.map.new, renamed to DIR/names.map: HAProxy
//    reads it only when it loads a config) and DIR/haproxy.cfg.new, checks the
//    config with `haproxy -c` (a config HAProxy refuses is never installed:
//    the old config and map are put back, the old ones keep running and Apply
//    returns Invalid with HAProxy's message), renames it to DIR/haproxy.cfg,
//    and starts HAProxy (first time, or after it died) or reloads it, so
//    config and map always change together: SIGUSR2 to
//    the master, which starts new workers on the same listening sockets and
//    lets the old ones finish their established connections (bounded by
//    hard-stop-after) — no connection is refused or dropped.
//  * While the master is still loading a configuration (just started or
//    reloading: WorkersReady() false) Apply changes nothing and returns
//    Unavailable: a SIGUSR2 then could be lost. Callers retry (rv-edge at
//    its next poll).
//  * The master runs with a master CLI socket DIR/master.sock (mode 600,
//    unix only) and dies with this process (PR_SET_PDEATHSIG); Stop() ends it
//    by PID and waits. Reloaded() tells when the workers of the last reload
//    are ready (the master's `show proc`), so callers and tests need no sleep.
//  * Not thread-safe: one owner.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/status.h"

namespace rv::edge {

class HaproxyProcess {
 public:
  HaproxyProcess(std::string dir, std::string binary = "/usr/sbin/haproxy")
      : dir_(std::move(dir)), binary_(std::move(binary)) {}
  ~HaproxyProcess() { Stop(); }
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

  // `names_map`: the content of names_map_path(), which `text` reads.
  Status Apply(const std::string& text, const std::string& names_map);
  // True while the master runs (reaps it if it exited).
  bool Running();
  void Stop();

  pid_t master_pid() const { return pid_; }
  int reloads() const { return reloads_; }
  const std::string& config_path() const { return cfg_; }
  std::string master_socket() const { return dir_ + "/master.sock"; }
  std::string names_map_path() const { return dir_ + "/names.map"; }
  // The master CLI's answer to `command` ("" if it cannot be reached).
  std::string MasterCommand(const std::string& command) const;
  // True when the master's last reload completed: `show proc` lists current
  // workers (no reload in progress); false on any doubt.
  bool WorkersReady() const;

 private:
  Status Start();
  Status Check(const std::string& path, std::string* why) const;

  std::string dir_, binary_;
  std::string cfg_ = "";
  std::string running_text_, running_map_;
  std::optional<std::string> installed_map_;  // the map the installed haproxy.cfg was checked with
  pid_t pid_ = -1;
  int reloads_ = 0;
};

}  // namespace rv::edge
