// PodHarness: a real pod for one integration test: its own temp dir, free
// ports, keys, pod.json, and the sauron / elrond / strider processes it
// started (each in its own process group, logs in <dir>/logs). Everything it
// started is SIGKILLed in TearDown, whatever the test did; the temp dir is
// removed unless the test failed (then its path is printed, logs inside).
//
// The test talks to sauron as "admin" over the real CURVE API.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/msg/protocol.h"
#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"

namespace rv::test {

struct HostSpec {
  std::string id;
  std::map<std::string, std::string> labels;
  bool enroll = true;
};

class PodHarness : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Writes keys and pod.json for `hosts`. Extra JSON members for the sauron
  // and elrond sections can be given (e.g. "\"lost_after_ms\": 600").
  void WritePod(const std::vector<HostSpec>& hosts, const std::string& sauron_bind_host = "127.0.0.1");
  // Three hosts h1..h3, zones a/b/c, role=app (h1: role=build).
  static std::vector<HostSpec> ThreeHosts();

  pid_t StartSauron(std::vector<std::string> extra = {});
  pid_t StartElrond();
  // `wrap`: a prefix for the command (e.g. {"ip", "netns", "exec", "ns"}).
  pid_t StartStrider(const std::string& host_id, std::vector<std::string> extra = {},
                     std::vector<std::string> wrap = {});
  // Starts sauron, elrond and the striders of WritePod, waits for all hosts up.
  void StartPod();
  void Kill(const std::string& name, int sig = 9);
  // Elrond has read the pod's hosts from sauron and listens for striders
  // (its log says so).
  bool ElrondReady();
  // The last `lines` lines of a spawned process's log, indented.
  std::string LogTail(const std::string& name, size_t lines) const;
  bool Running(const std::string& name) const;
  pid_t Pid(const std::string& name) const;

  // Admin API.
  Status Submit(std::vector<msg::JobSpec> jobs);
  std::vector<msg::JobRecord> Jobs();
  std::vector<msg::HostRecord> Hosts();
  std::map<std::string, int64_t> SauronCounters();
  const msg::JobRecord* FindJob(const std::vector<msg::JobRecord>& jobs, const std::string& id);
  static msg::JobSpec SleepJob(const std::string& id, const std::string& service, int64_t ram_mb = 64);

  // Polls `pred` every 50 ms until it holds or `timeout_ms` passed.
  bool WaitFor(const std::function<bool()>& pred, int timeout_ms);
  int HostsUp();
  // Processes (any host) running job `id`: children of our striders whose
  // environment says RV_JOB_ID=id.
  int ProcessesOf(const std::string& job_id);
  // Every job in `ids` placed and running, and exactly one process each.
  bool AllPlacedAndRunningOnce(const std::vector<std::string>& ids);
  // Jobs and hosts, for failure messages; first any spawned process that has
  // exited (reaped, and no longer Running), with the end of its log.
  std::string Dump();

  static int FreePort();

  std::string dir_;
  std::string pod_json_;
  int api_port_ = 0, pub_port_ = 0, elrond_port_ = 0;
  std::string bind_host_ = "127.0.0.1";
  std::vector<HostSpec> hosts_;
  std::map<std::string, pid_t> procs_;
  // Extra settings merged into pod.json.
  int heartbeat_ms_ = 200;
  int lost_after_ms_ = 600;
  int zmtp_heartbeat_ms_ = 100;
  int ack_timeout_ms_ = 1000;
  int retry_pending_ms_ = 500;
  int batch_max_ = 0;  // 0: elrond's default
  int disconnect_grace_ms_ = 0;
  bool strider_containers_ = false;  // true: striders open the container runtime (root)

  // For tests that start other processes of the pod (overlayd) or send other
  // admin requests (overlay): same bookkeeping as the daemons above.
  pid_t SpawnProcess(const std::string& name, const std::vector<std::string>& argv) { return Spawn(name, argv); }
  transport::RpcClient& AdminRpc() { return Admin(); }

 private:
  pid_t Spawn(const std::string& name, const std::vector<std::string>& argv);
  transport::RpcClient& Admin();
  std::unique_ptr<zmq::context_t> ctx_;
  std::unique_ptr<transport::RpcClient> admin_;
};

}  // namespace rv::test
