#include "test/integration/pod_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/transport/test_ports.h"

namespace rv::test {

namespace fs = std::filesystem;

void PodHarness::SetUp() {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  char tmpl[] = "/tmp/rv-it-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  fs::create_directories(dir_ + "/logs");
  fs::create_directories(dir_ + "/keys");
  api_port_ = FreePort();
  pub_port_ = FreePort();
  elrond_port_ = FreePort();
  ctx_ = std::make_unique<zmq::context_t>();
}

void PodHarness::TearDown() {
  admin_.reset();
  for (auto& [name, pid] : procs_) {
    if (pid > 0) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
  }
  for (auto& [name, pid] : procs_) {
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
  procs_.clear();
  ctx_.reset();
  if (HasFailure()) {
    std::cerr << "pod dir kept for inspection: " << dir_ << "\n";
  } else {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

int PodHarness::FreePort() { return transport::ReserveTestPort(); }

std::vector<HostSpec> PodHarness::ThreeHosts() {
  return {{"h1", {{"zone", "a"}, {"role", "build"}}},
          {"h2", {{"zone", "b"}, {"role", "app"}}},
          {"h3", {{"zone", "c"}, {"role", "app"}}}};
}

void PodHarness::WritePod(const std::vector<HostSpec>& hosts, const std::string& sauron_bind_host) {
  hosts_ = hosts;
  bind_host_ = sauron_bind_host;
  for (const char* k : {"sauron", "elrond", "admin"}) {
    ASSERT_TRUE(transport::SaveKeypair(dir_ + "/keys/" + k + ".key", transport::GenerateKeypair()).ok());
  }
  nlohmann::json j;
  j["sauron"] = {{"api", "tcp://" + bind_host_ + ":" + std::to_string(api_port_)},
                 {"pub", "tcp://" + bind_host_ + ":" + std::to_string(pub_port_)},
                 {"heartbeat_ms", heartbeat_ms_},
                 {"lost_after_ms", lost_after_ms_},
                 {"zmtp_heartbeat_ms", zmtp_heartbeat_ms_},
                 {"disconnect_grace_ms", disconnect_grace_ms_}};
  j["elrond"] = {{"endpoint", "tcp://" + bind_host_ + ":" + std::to_string(elrond_port_)},
                 {"ack_timeout_ms", ack_timeout_ms_},
                 {"retry_pending_ms", retry_pending_ms_}};
  if (batch_max_ > 0) j["elrond"]["batch_max"] = batch_max_;
  j["hosts"] = nlohmann::json::array();
  for (const auto& h : hosts) {
    ASSERT_TRUE(transport::SaveKeypair(dir_ + "/keys/" + h.id + ".key", transport::GenerateKeypair()).ok());
    if (h.enroll) j["hosts"].push_back({{"id", h.id}, {"labels", h.labels}});
  }
  pod_json_ = dir_ + "/pod.json";
  std::ofstream(pod_json_) << j.dump(2);
}

pid_t PodHarness::Spawn(const std::string& name, const std::vector<std::string>& args) {
  std::string log = dir_ + "/logs/" + name + ".log";
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (pid > 0) {
    setpgid(pid, pid);
    procs_[name] = pid;
  }
  return pid;
}

pid_t PodHarness::StartSauron(std::vector<std::string> extra) {
  std::vector<std::string> argv = {RV_SAURON_BIN, "--pod", pod_json_, "--log-level", "debug"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Spawn("sauron", argv);
}
pid_t PodHarness::StartElrond() { return Spawn("elrond", {RV_ELROND_BIN, "--pod", pod_json_, "--log-level", "debug"}); }

pid_t PodHarness::StartStrider(const std::string& host_id, std::vector<std::string> extra, std::vector<std::string> wrap) {
  std::vector<std::string> argv = wrap;
  for (const std::string& a : {std::string(RV_STRIDER_BIN), std::string("--pod"), pod_json_, std::string("--host-id"),
                               host_id, std::string("--key"), dir_ + "/keys/" + host_id + ".key",
                               std::string("--data-dir"), dir_ + "/hosts/" + host_id, std::string("--stop-grace-ms"),
                               std::string("1000"), std::string("--log-level"), std::string("debug"),
                               // plain-process jobs only: no per-strider container runtime (tmpfs
                               // mounts) for tests that kill striders with SIGKILL
                               std::string("--no-containers")}) {
    if (strider_containers_ && a == "--no-containers") continue;
    argv.push_back(a);
  }
  for (auto& e : extra) argv.push_back(e);
  return Spawn("strider-" + host_id, argv);
}

void PodHarness::StartPod() {
  ASSERT_GT(StartSauron(), 0);
  ASSERT_GT(StartElrond(), 0);
  // Striders that connect before elrond has read the enrolled hosts from
  // sauron are refused and retry after a backoff; tests that check placement
  // rules want every host in the first auction, so wait for elrond's snapshot.
  ASSERT_TRUE(WaitFor([&] { return ElrondReady(); }, 10000)) << Dump();
  int enrolled = 0;
  for (const auto& h : hosts_) {
    ASSERT_GT(StartStrider(h.id), 0);
    if (h.enroll) ++enrolled;
  }
  ASSERT_TRUE(WaitFor([&] { return HostsUp() == enrolled; }, 15000)) << "hosts up: " << HostsUp() << "\n" << Dump();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // auction.hello reaches elrond
}

bool PodHarness::ElrondReady() {
  std::ifstream in(dir_ + "/logs/elrond.log");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.find("elrond listening on") != std::string::npos;
}

void PodHarness::Kill(const std::string& name, int sig) {
  auto it = procs_.find(name);
  ASSERT_NE(it, procs_.end()) << name;
  kill(it->second, sig);
  waitpid(it->second, nullptr, 0);
  procs_.erase(it);
}

std::string PodHarness::LogTail(const std::string& name, size_t lines) const {
  std::ifstream in(dir_ + "/logs/" + name + ".log");
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "    " + l + "\n";
  return out;
}

bool PodHarness::Running(const std::string& name) const { return procs_.count(name) != 0; }
pid_t PodHarness::Pid(const std::string& name) const {
  auto it = procs_.find(name);
  return it == procs_.end() ? -1 : it->second;
}

transport::RpcClient& PodHarness::Admin() {
  if (!admin_) {
    auto key = transport::LoadKeypair(dir_ + "/keys/admin.key");
    auto skey = transport::LoadPublicKey(dir_ + "/keys/sauron.key.pub");
    EXPECT_TRUE(key.ok() && skey.ok());
    admin_ = std::make_unique<transport::RpcClient>(*ctx_, "tcp://127.0.0.1:" + std::to_string(api_port_), *key, *skey);
  }
  return *admin_;
}

Status PodHarness::Submit(std::vector<msg::JobSpec> jobs) {
  msg::JobIds ids;
  return Admin().Call(msg::SubmitJobs{std::move(jobs)}, &ids, std::chrono::milliseconds(3000));
}

std::vector<msg::JobRecord> PodHarness::Jobs() {
  msg::ListRequest req;
  req.what = "jobs";
  req.limit = 100000;
  msg::Listing l;
  if (!Admin().Call(req, &l, std::chrono::milliseconds(2000)).ok()) return {};
  return l.jobs;
}

std::vector<msg::HostRecord> PodHarness::Hosts() {
  msg::ListRequest req;
  req.what = "hosts";
  msg::Listing l;
  if (!Admin().Call(req, &l, std::chrono::milliseconds(2000)).ok()) return {};
  return l.hosts;
}

std::map<std::string, int64_t> PodHarness::SauronCounters() {
  msg::ListRequest req;
  req.what = "counters";
  msg::Listing l;
  if (!Admin().Call(req, &l, std::chrono::milliseconds(2000)).ok()) return {};
  return l.counters;
}

const msg::JobRecord* PodHarness::FindJob(const std::vector<msg::JobRecord>& jobs, const std::string& id) {
  for (const auto& j : jobs) {
    if (j.spec.id == id) return &j;
  }
  return nullptr;
}

msg::JobSpec PodHarness::SleepJob(const std::string& id, const std::string& service, int64_t ram_mb) {
  msg::JobSpec j;
  j.id = id;
  j.service = service;
  j.resources = {ram_mb, 16, 10};
  j.command = {"/bin/sleep", "1000"};
  j.restart = "on-failure";
  return j;
}

bool PodHarness::WaitFor(const std::function<bool()>& pred, int timeout_ms) {
  int64_t end = MonotonicMs() + timeout_ms;
  while (MonotonicMs() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

int PodHarness::HostsUp() {
  int n = 0;
  for (const auto& h : Hosts()) n += h.state == "up";
  return n;
}

int PodHarness::ProcessesOf(const std::string& job_id) {
  std::set<pid_t> striders;
  for (const auto& [name, pid] : procs_) {
    if (name.rfind("strider-", 0) == 0) striders.insert(pid);
  }
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string pid_s = entry.path().filename().string();
    if (pid_s.empty() || !isdigit(static_cast<unsigned char>(pid_s[0]))) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(line.substr(close_paren + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (!striders.count(ppid) || state == 'Z') continue;
    std::ifstream env(entry.path() / "environ", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    std::string want = "RV_JOB_ID=" + job_id;
    size_t pos = 0;
    while ((pos = all.find(want, pos)) != std::string::npos) {
      bool start = pos == 0 || all[pos - 1] == '\0';
      bool end = pos + want.size() == all.size() || all[pos + want.size()] == '\0';
      if (start && end) {
        ++n;
        break;
      }
      pos += want.size();
    }
  }
  return n;
}

bool PodHarness::AllPlacedAndRunningOnce(const std::vector<std::string>& ids) {
  auto jobs = Jobs();
  for (const auto& id : ids) {
    const auto* j = FindJob(jobs, id);
    if (!j || j->state != "placed" || j->run_state != "running") return false;
    if (ProcessesOf(id) != 1) return false;
  }
  return true;
}

std::string PodHarness::Dump() {
  std::ostringstream out;
  out << "pod dir " << dir_ << "\n";
  // A daemon that died (a port it could not bind, a crash) explains most
  // "stays pending" failures; reaping it here also keeps TearDown from
  // signalling a PID that is no longer ours.
  for (auto it = procs_.begin(); it != procs_.end();) {
    int st = 0;
    if (it->second <= 0 || waitpid(it->second, &st, WNOHANG) != it->second) {
      ++it;
      continue;
    }
    out << it->first << " is gone ("
        << (WIFEXITED(st) ? "exit " + std::to_string(WEXITSTATUS(st))
                          : "signal " + std::to_string(WIFSIGNALED(st) ? WTERMSIG(st) : 0))
        << "); its log ends:\n" << LogTail(it->first, 6);
    it = procs_.erase(it);
  }
  out << "hosts:\n";
  for (const auto& h : Hosts()) out << "  " << h.id << " " << h.state << (h.drained ? " drained" : "") << "\n";
  out << "jobs:\n";
  for (const auto& j : Jobs()) {
    out << "  " << j.spec.id << " " << j.state << " #" << j.attempt << " host=" << j.host_id << " run=" << j.run_state
        << " procs=" << ProcessesOf(j.spec.id) << (j.reason.empty() ? "" : " reason=" + j.reason) << "\n";
  }
  return out.str();
}

}  // namespace rv::test
