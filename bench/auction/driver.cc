// rv-auction-bench: auctions at pod scale over real ZeroMQ sockets.
//
// For each host count it starts a real sauron and a real elrond (separate
// processes, as in production) and rv-sim-hosts processes holding the simulated
// hosts, then measures:
//   * flood: N jobs submitted at once; placements/s from first submit to last
//     job.placed seen on sauron's change stream; elrond CPU and peak RSS;
//   * packing: hosts used by binpack against the lower bound (total RAM demand /
//     host RAM capacity);
//   * light load: jobs submitted one at a time; submit -> job.awarded latency, an
//     upper bound of announce -> award (it includes the submit and the batch wait);
//   * loss detection: a probe host process killed with SIGKILL (connection close)
//     or frozen with SIGSTOP (silent) -> host.lost on the change stream;
//   * heartbeat cost: sauron's CPU while the pod idles;
//   * false positives: host.lost for any simulated host during the run.
// Prints a table and writes one JSON object per host count.
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/msg/topics.h"
#include "common/clock.h"
#include "common/msg/envelope.h"
#include "common/msg/protocol.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "common/transport/test_ports.h"
#include "common/transport/rpc_client.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace rv;

namespace {

std::vector<pid_t> g_children;

pid_t Spawn(const std::vector<std::string>& args, const std::string& log, int nice = 0) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // an interrupted benchmark leaves nothing running
    if (nice != 0) setpriority(PRIO_PROCESS, 0, nice);  // before exec: every thread inherits it
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  g_children.push_back(pid);
  return pid;
}

void Reap(pid_t pid) {
  kill(pid, SIGKILL);
  kill(pid, SIGCONT);
  waitpid(pid, nullptr, 0);
  g_children.erase(std::remove(g_children.begin(), g_children.end(), pid), g_children.end());
}

void StopAll() {
  for (pid_t p : g_children) kill(p, SIGTERM);
  for (int i = 0; i < 40; ++i) {
    bool any = false;
    for (pid_t p : g_children) any |= waitpid(p, nullptr, WNOHANG) == 0;
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (pid_t p : g_children) {
    kill(p, SIGKILL);
    waitpid(p, nullptr, WNOHANG);
  }
  g_children.clear();
}

int FreePort() { return transport::ReserveTestPort(); }

double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto rp = line.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream ss(line.substr(rp + 2));
  std::string f;
  std::vector<std::string> fields;
  while (ss >> f) fields.push_back(f);
  // fields[0] is state (field 3); utime is field 14, stime 15.
  if (fields.size() < 13) return 0;
  return (std::stod(fields[11]) + std::stod(fields[12])) / sysconf(_SC_CLK_TCK);
}

// Per thread of pid: name -> {user s, system s}. Threads of one name are summed
// (libzmq's I/O threads are all "ZMQbg/IO/0"...), so two snapshots subtract.
// /proc/PID/task/TID of each thread of pid.
std::vector<std::string> ThreadDirs(pid_t pid) {
  std::vector<std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
  }
  closedir(d);
  return out;
}

std::map<std::string, std::pair<double, double>> ThreadCpu(pid_t pid) {
  std::map<std::string, std::pair<double, double>> out;
  for (const std::string& task : ThreadDirs(pid)) {
    std::ifstream in(task + "/stat");
    std::string line;
    std::getline(in, line);
    auto lp = line.find('('), rp = line.rfind(')');
    if (lp == std::string::npos || rp == std::string::npos) continue;
    std::istringstream ss(line.substr(rp + 2));
    std::vector<std::string> fields;
    for (std::string f; ss >> f;) fields.push_back(f);
    if (fields.size() < 13) continue;
    auto& slot = out[line.substr(lp + 1, rp - lp - 1)];
    slot.first += std::stod(fields[11]) / sysconf(_SC_CLK_TCK);
    slot.second += std::stod(fields[12]) / sysconf(_SC_CLK_TCK);
  }
  return out;
}

// From /proc/PID/schedstat, summed over threads: {on CPU s, runnable but
// waiting for a CPU s}. The second is how much a process was held back by the
// others sharing the machine's cores.
std::pair<double, double> SchedSeconds(pid_t pid) {
  std::pair<double, double> out{0, 0};
  for (const std::string& task : ThreadDirs(pid)) {
    std::ifstream in(task + "/schedstat");
    double run_ns = 0, wait_ns = 0;
    if (in >> run_ns >> wait_ns) {
      out.first += run_ns / 1e9;
      out.second += wait_ns / 1e9;
    }
  }
  return out;
}

long StatusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return 0;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * v.size())) - 1;
  return v[std::min(i, v.size() - 1)];
}

// Watches sauron's change stream (its feed: every event) for the events the
// benchmark times.
class Watcher {
 public:
  Watcher(zmq::context_t& ctx, const std::string& ep, const transport::CurveKeypair& admin, const std::string& spub)
      : sub_(ctx, zmq::socket_type::sub) {
    transport::SetDefaults(sub_);
    sub_.set(zmq::sockopt::rcvhwm, 0);
    transport::MakeCurveClient(sub_, admin, spub);
    // The feed (a commit's changes per message), as elrond follows the pod:
    // per-event topics would cost sauron an encryption per event for us.
    sub_.set(zmq::sockopt::subscribe, std::string(msg::kFeedTopic));
    sub_.connect(ep);
  }
  // Reads events for up to `ms`; calls fn(event, recv time us).
  template <typename Fn>
  void Pump(int ms, Fn fn) {
    int64_t end = MonotonicMs() + ms;
    do {
      zmq::pollitem_t it{sub_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&it, 1, std::chrono::milliseconds(std::max<int64_t>(0, std::min<int64_t>(5, end - MonotonicMs()))));
      zmq::message_t topic, body;
      while (sub_.recv(topic, zmq::recv_flags::dontwait)) {
        if (!topic.more() || !sub_.recv(body, zmq::recv_flags::none)) continue;
        int64_t now = MonotonicUs();
        auto env = msg::DecodeEnvelope(body.data(), body.size());
        msg::Changes batch;
        if (!env.ok() || !msg::DecodeBody(*env, &batch).ok()) continue;
        for (const auto& c : batch.changes) fn(c.event, now);
      }
    } while (MonotonicMs() < end);
  }

 private:
  zmq::socket_t sub_;
};

struct Options {
  std::string sauron, elrond, sim, out, workdir;
  std::vector<int> hosts{10, 100, 1000};
  int jobs = 10000;
  int latency_jobs = 200;
  int kill_probes = 20;
  int silent_probes = 10;
  int idle_seconds = 10;
  int hosts_per_sim = 500;
  // Nice value of sauron and elrond. The simulated hosts stand for other
  // machines but share the two cores here; sauron, the pipeline's serial
  // stage, spends 40-50% of a 1000-host flood runnable but waiting for a CPU.
  // -5 helped at 1000 hosts (6.1-7.8k against 5.1-5.9k placements/s) but
  // starved the one simulator of a 100-host pod, whose bids then missed
  // elrond's deadline (2.5-4.3k against 4.2-5.5k): so 0 by default.
  int control_nice = 0;
  int sample_hosts = 64;
  int batch_max = 512;
  int lost_after_ms = 750;
  int zmtp_heartbeat_ms = 30000;
  int heartbeat_ms = 5000;
  std::string elrond_log_level = "warn";
  int soak_seconds = 0;   // > 0: churn for this long after the flood (the 10-minute run)
  int soak_churn = 100;   // jobs stopped and submitted per second during the soak
  int soak_hosts = 1000;  // the host count that soaks (0 = every one)
};

json RunOne(const Options& o, int H) {
  std::string dir = o.workdir + "/h" + std::to_string(H);
  fs::remove_all(dir);
  fs::create_directories(dir + "/keys");
  zmq::context_t ctx = transport::MakeContext(1, 4096);
  auto skp = transport::LoadOrCreateKeypair(dir + "/keys/sauron.key");
  auto ekp = transport::LoadOrCreateKeypair(dir + "/keys/elrond.key");
  auto akp = transport::LoadOrCreateKeypair(dir + "/keys/admin.key");
  int probes = o.kill_probes + o.silent_probes;

  // Job mix and host capacity: binpack has to do real work (mixed sizes), and
  // the pod has ~10% slack over the total demand.
  const int64_t sizes[] = {128, 256, 512, 1024};
  // A job of the mix: the k-th size, one of 97 services.
  auto mixed_job = [&](const std::string& id, const std::string& service_prefix, int k) {
    msg::JobSpec s;
    s.id = id;
    s.service = service_prefix + std::to_string(k % 97);
    s.resources = {sizes[k % 4], 10, 0};
    s.command = {"/bin/true"};
    return s;
  };
  int64_t total_ram = 0;
  for (int n = 0; n < o.jobs; ++n) total_ram += sizes[n % 4];
  int64_t cap_ram = (total_ram * 11 / 10 + H - 1) / H;
  cap_ram = std::max<int64_t>(cap_ram, 1024 + 64);
  int64_t lower_bound = (total_ram + cap_ram - 1) / cap_ram;

  json cfg;
  cfg["sauron"] = {{"api", "tcp://127.0.0.1:" + std::to_string(FreePort())},
                   {"pub", "tcp://127.0.0.1:" + std::to_string(FreePort())},
                   {"db", "sauron.db"}, {"heartbeat_ms", o.heartbeat_ms},
                   {"zmtp_heartbeat_ms", o.zmtp_heartbeat_ms}, {"lost_after_ms", o.lost_after_ms}};
  cfg["elrond"] = {{"endpoint", "tcp://127.0.0.1:" + std::to_string(FreePort())},
                   {"strategy", "binpack"}, {"batch_max", o.batch_max}, {"sample_hosts", o.sample_hosts},
                   {"bid_deadline_ms", 50}, {"ack_timeout_ms", 2000}};
  json hosts = json::array();
  const char* zones[] = {"a", "b", "c"};
  auto enroll = [&](const std::string& id, int i) {
    auto kp = transport::GenerateKeypair();
    (void)transport::SaveKeypair(dir + "/keys/" + id + ".key", kp);
    hosts.push_back({{"id", id}, {"public_key", kp.public_key}, {"labels", {{"zone", zones[i % 3]}, {"role", "app"}}}});
  };
  char id[64];
  for (int i = 0; i < H; ++i) {
    snprintf(id, sizeof id, "sim-%04d", i);
    enroll(id, i);
  }
  for (int i = 0; i < probes; ++i) {
    snprintf(id, sizeof id, "probe-%04d", i);
    enroll(id, i);
  }
  cfg["hosts"] = hosts;
  std::ofstream(dir + "/pod.json") << cfg.dump(2);
  std::string pod = dir + "/pod.json";

  pid_t sauron = Spawn({o.sauron, "--pod", pod, "--log-level", "warn"}, dir + "/sauron.log", o.control_nice);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  pid_t elrond = Spawn({o.elrond, "--pod", pod, "--log-level", o.elrond_log_level}, dir + "/elrond.log",
                       o.control_nice);
  std::vector<pid_t> sims;
  for (int first = 0; first < H; first += o.hosts_per_sim) {
    int count = std::min(o.hosts_per_sim, H - first);
    sims.push_back(Spawn({o.sim, "--pod", pod, "--prefix", "sim", "--first", std::to_string(first), "--count",
           std::to_string(count), "--ram-mb", std::to_string(cap_ram), "--disk-mb", "1000000",
           "--cpu-millis", "64000"},
          dir + "/sim-" + std::to_string(first) + ".log"));
  }
  auto sims_cpu = [&] {
    double sum = 0;
    for (pid_t p : sims) sum += CpuSeconds(p);
    return sum;
  };

  transport::RpcClient rpc(ctx, cfg["sauron"]["api"], *akp, skp->public_key);
  Watcher watch(ctx, cfg["sauron"]["pub"], *akp, skp->public_key);

  // Wait for every simulated host to be up.
  int64_t t_wait = MonotonicMs();
  size_t up = 0;
  while (MonotonicMs() - t_wait < 120000) {
    msg::ListRequest req;
    req.what = "hosts";
    req.limit = H + probes + 10;
    msg::Listing l;
    if (rpc.Call(req, &l, std::chrono::seconds(5)).ok()) {
      up = std::count_if(l.hosts.begin(), l.hosts.end(),
                         [](const msg::HostRecord& h) { return h.state == "up" && h.id.rfind("sim-", 0) == 0; });
      if (up == static_cast<size_t>(H)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  fprintf(stderr, "[%d hosts] %zu up after %ld ms\n", H, up, static_cast<long>(MonotonicMs() - t_wait));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // let elrond see them all

  int false_lost = 0;
  auto count_lost = [&](const msg::Event& e) {
    if (e.kind == "host.lost" && e.host_id.rfind("sim-", 0) == 0) false_lost++;
  };

  // ---- flood ----------------------------------------------------------------
  std::map<std::string, int64_t> submitted_us;
  std::map<std::string, std::string> placed_on;
  // CPU per placement, by process: on a shared 2-core machine this moves
  // less with the neighbours' load than placements per second do.
  // sauron's own counters (api.n.<type>, api.us.<type>: requests and time
  // by type) before and after, to say where its time went.
  auto sauron_counters = [&]() {
    std::map<std::string, int64_t> out;
    msg::ListRequest req;
    req.what = "counters";
    msg::Listing l;
    if (rpc.Call(req, &l, std::chrono::seconds(5)).ok()) {
      for (const auto& [k, v] : l.counters) {
        if (k.rfind("api.", 0) == 0) out[k] = v;
      }
    }
    return out;
  };
  auto api0 = sauron_counters();
  auto sauron_threads0 = ThreadCpu(sauron);
  auto sauron_sched0 = SchedSeconds(sauron), elrond_sched0 = SchedSeconds(elrond);
  double elrond_cpu0 = CpuSeconds(elrond), sauron_cpu0 = CpuSeconds(sauron), sims_cpu0 = sims_cpu();
  int64_t t0 = MonotonicUs();
  const int per_req = 500;
  for (int n = 0; n < o.jobs; n += per_req) {
    msg::SubmitJobs req;
    for (int k = n; k < std::min(o.jobs, n + per_req); ++k) {
      req.jobs.push_back(mixed_job("j" + std::to_string(k), "svc", k));
    }
    int64_t now = MonotonicUs();
    for (auto& s : req.jobs) submitted_us[s.id] = now;
    if (Status s = rpc.Call(req, std::chrono::seconds(30)); !s.ok()) {
      fprintf(stderr, "submit failed: %s\n", s.ToString().c_str());
    }
    watch.Pump(0, [&](const msg::Event& e, int64_t) {
      if (e.kind == "job.placed") placed_on[e.job_id] = e.host_id;
      count_lost(e);
    });
  }
  int64_t t_last = t0;
  std::vector<double> flood_lat;
  int64_t flood_deadline = MonotonicMs() + 180000;
  while (placed_on.size() < static_cast<size_t>(o.jobs) && MonotonicMs() < flood_deadline) {
    watch.Pump(50, [&](const msg::Event& e, int64_t now) {
      if (e.kind == "job.placed" && !placed_on.count(e.job_id)) {
        placed_on[e.job_id] = e.host_id;
        t_last = now;
        auto it = submitted_us.find(e.job_id);
        if (it != submitted_us.end()) flood_lat.push_back((now - it->second) / 1000.0);
      }
      count_lost(e);
    });
  }
  double flood_s = (t_last - t0) / 1e6;
  double elrond_cpu = CpuSeconds(elrond) - elrond_cpu0;
  double sauron_flood_cpu = CpuSeconds(sauron) - sauron_cpu0, sims_flood_cpu = sims_cpu() - sims_cpu0;
  long elrond_rss_kb = StatusKb(elrond, "VmHWM");
  std::map<std::string, double> runqueue_wait_ms;
  for (auto [name, pid, before] : {std::tuple{"sauron", sauron, sauron_sched0}, std::tuple{"elrond", elrond, elrond_sched0}}) {
    auto after = SchedSeconds(pid);
    runqueue_wait_ms[name] = 1000 * (after.second - before.second);
    fprintf(stderr, "[%d hosts]   %s on CPU %.0f ms, runnable but waiting for a CPU %.0f ms\n", H, name,
            1000 * (after.first - before.first), runqueue_wait_ms[name]);
  }
  for (const auto& [name, t] : ThreadCpu(sauron)) {
    auto before = sauron_threads0[name];
    fprintf(stderr, "[%d hosts]   sauron thread %-12s user %6.0f ms  system %6.0f ms\n", H, name.c_str(),
            1000 * (t.first - before.first), 1000 * (t.second - before.second));
  }
  std::set<std::string> used;
  for (auto& [j, h] : placed_on) used.insert(h);
  double pps = flood_s > 0 ? placed_on.size() / flood_s : 0;
  fprintf(stderr, "[%d hosts] placed %zu/%d in %.2f s\n", H, placed_on.size(), o.jobs, flood_s);
  auto per_placement_ms = [&](double cpu_s) { return placed_on.empty() ? 0.0 : 1000.0 * cpu_s / placed_on.size(); };
  fprintf(stderr, "[%d hosts] CPU ms per placement: sauron %.3f elrond %.3f simulated hosts %.3f\n", H,
          per_placement_ms(sauron_flood_cpu), per_placement_ms(elrond_cpu), per_placement_ms(sims_flood_cpu));
  json sauron_api = json::object();
  {
    auto api1 = sauron_counters();
    std::vector<std::pair<int64_t, std::string>> by_time;
    for (const auto& [k, v] : api1) {
      int64_t d = v - (api0.count(k) ? api0[k] : 0);
      if (d == 0) continue;
      if (k.rfind("api.us.", 0) == 0) {
        std::string type = k.substr(7);
        int64_t n = api1["api.n." + type] - (api0.count("api.n." + type) ? api0["api.n." + type] : 0);
        by_time.emplace_back(d, type);
        sauron_api[type] = {{"requests", n}, {"ms", d / 1000.0}};
      } else if (k.rfind("api.n.", 0) != 0) {
        sauron_api[k.substr(4)] = d;
      }
    }
    std::sort(by_time.rbegin(), by_time.rend());
    for (const auto& [us, type] : by_time) {
      fprintf(stderr, "[%d hosts]   sauron %-22s %6lld requests %8.1f ms\n", H, type.c_str(),
              static_cast<long long>(sauron_api[type]["requests"].get<int64_t>()), us / 1000.0);
    }
    for (const char* k : {"groups", "group_requests"}) {
      if (sauron_api.contains(k)) fprintf(stderr, "[%d hosts]   sauron api.%s = %lld\n", H, k, static_cast<long long>(sauron_api[k].get<int64_t>()));
    }
  }
  // How the auctions went (elrond reports its counters to sauron every 2 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  json auction_counters = json::object();
  {
    msg::ListRequest req;
    req.what = "counters";
    msg::Listing l;
    if (rpc.Call(req, &l, std::chrono::seconds(5)).ok()) {
      for (const auto& [k, v] : l.counters) {
        if (k.rfind("elrond.", 0) != 0) continue;
        std::string name = k.substr(7);
        if (name.rfind("auction.", 0) == 0 || name.rfind("bid.", 0) == 0 || name.rfind("ack.", 0) == 0 ||
            name.rfind("award.", 0) == 0 || name.rfind("retry.", 0) == 0 || name == "job.unplaceable") {
          auction_counters[name] = v;
          fprintf(stderr, "[%d hosts]   elrond %s = %lld\n", H, name.c_str(), static_cast<long long>(v));
        }
      }
    }
  }

  // ---- heartbeat cost while idle --------------------------------------------
  // On-CPU time from schedstat (nanoseconds): /proc/PID/stat counts 10 ms
  // ticks, which over 10 s made the figure move in steps of 0.1% of a core,
  // as coarse as the margin to the 1% goal.
  double s_cpu0 = SchedSeconds(sauron).first, e_cpu0 = SchedSeconds(elrond).first;
  int64_t ti = MonotonicMs();
  watch.Pump(o.idle_seconds * 1000, [&](const msg::Event& e, int64_t) { count_lost(e); });
  double idle_s = (MonotonicMs() - ti) / 1000.0;
  double sauron_idle_pct = 100.0 * (SchedSeconds(sauron).first - s_cpu0) / idle_s;
  double elrond_idle_pct = 100.0 * (SchedSeconds(elrond).first - e_cpu0) / idle_s;

  // ---- light load: one job at a time ----------------------------------------
  std::vector<double> light;
  for (int n = 0; n < o.latency_jobs; ++n) {
    msg::SubmitJobs req;
    msg::JobSpec s;
    s.id = "lat" + std::to_string(n);
    s.service = "lat";
    s.resources = {1, 1, 0};
    s.command = {"/bin/true"};
    req.jobs.push_back(s);
    int64_t ts = MonotonicUs();
    if (!rpc.Call(req, std::chrono::seconds(5)).ok()) continue;
    bool got = false;
    int64_t end = MonotonicMs() + 3000;
    while (!got && MonotonicMs() < end) {
      watch.Pump(2, [&](const msg::Event& e, int64_t now) {
        if (e.kind == "job.awarded" && e.job_id == s.id) {
          light.push_back((now - ts) / 1000.0);
          got = true;
        }
        count_lost(e);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // ---- soak: churn under load, watching for false "lost" ----------------------
  // Every 100 ms, stop `soak_churn / 10` of the flood's jobs and submit as many
  // new ones; the pod stays full, so every placement is a real auction.
  int64_t soak_placed = 0, soak_stopped = 0;
  int false_lost_before_soak = false_lost;
  double soak_sauron_pct = 0, soak_elrond_pct = 0;
  std::vector<double> soak_lat;
  bool soak = o.soak_seconds > 0 && (o.soak_hosts == 0 || o.soak_hosts == H);
  if (soak) {
    std::vector<std::string> live;
    for (auto& [j, h] : placed_on) live.push_back(j);
    std::map<std::string, int64_t> soak_submitted;
    double s0 = CpuSeconds(sauron), e0 = CpuSeconds(elrond);
    int64_t ts = MonotonicMs(), end = ts + o.soak_seconds * 1000LL, next_report = ts + 60000;
    int per_tick = std::max(1, o.soak_churn / 10);
    int serial = 0;
    while (MonotonicMs() < end) {
      msg::StopJobs stop;
      msg::SubmitJobs sub;
      for (int k = 0; k < per_tick && !live.empty(); ++k) {
        size_t i = static_cast<size_t>(serial * 7919 + k) % live.size();
        stop.job_ids.push_back(live[i]);
        live[i] = live.back();
        live.pop_back();
        sub.jobs.push_back(mixed_job("soak" + std::to_string(serial) + "-" + std::to_string(k), "soak", k));
      }
      serial++;
      (void)rpc.Call(stop, std::chrono::seconds(10));
      soak_stopped += static_cast<int64_t>(stop.job_ids.size());
      int64_t now_us = MonotonicUs();
      for (auto& s : sub.jobs) soak_submitted[s.id] = now_us;
      (void)rpc.Call(sub, std::chrono::seconds(10));
      watch.Pump(100, [&](const msg::Event& e, int64_t now) {
        if (e.kind == "job.placed") {
          auto it = soak_submitted.find(e.job_id);
          if (it != soak_submitted.end()) {
            soak_lat.push_back((now - it->second) / 1000.0);
            soak_submitted.erase(it);
            live.push_back(e.job_id);
            soak_placed++;
          }
        }
        count_lost(e);
      });
      if (MonotonicMs() >= next_report) {
        next_report += 60000;
        fprintf(stderr, "[%d hosts] soak: %lld s, %lld placed, %d false lost\n", H,
                static_cast<long long>((MonotonicMs() - ts) / 1000), static_cast<long long>(soak_placed),
                false_lost - false_lost_before_soak);
      }
    }
    double secs = (MonotonicMs() - ts) / 1000.0;
    soak_sauron_pct = 100.0 * (CpuSeconds(sauron) - s0) / secs;
    soak_elrond_pct = 100.0 * (CpuSeconds(elrond) - e0) / secs;
    fprintf(stderr, "[%d hosts] soak done: %.0f s, %lld stopped, %lld placed (p99 %.1f ms), %d false lost\n", H, secs,
            static_cast<long long>(soak_stopped), static_cast<long long>(soak_placed), Percentile(soak_lat, 99),
            false_lost - false_lost_before_soak);
  }

  // ---- loss detection -------------------------------------------------------
  auto probe = [&](int i, int sig) -> double {
    snprintf(id, sizeof id, "probe-%04d", i);
    std::string pid_id = id;
    pid_t p = Spawn({o.sim, "--pod", pod, "--prefix", "probe", "--first", std::to_string(i), "--count", "1",
                     "--ram-mb", "1024", "--disk-mb", "1000", "--cpu-millis", "1000"},
                    dir + "/probe.log");
    bool is_up = false;
    int64_t end = MonotonicMs() + 10000;
    while (!is_up && MonotonicMs() < end) {
      watch.Pump(5, [&](const msg::Event& e, int64_t) {
        if (e.kind == "host.up" && e.host_id == pid_id) is_up = true;
        count_lost(e);
      });
    }
    if (!is_up) {
      Reap(p);
      return -1;
    }
    // Settle, still reading the change stream: after the soak, events left in
    // our SUB queue would otherwise be decoded between the kill and the
    // host.lost we time, and be counted as sauron's detection time.
    watch.Pump(300, [&](const msg::Event& e, int64_t) { count_lost(e); });
    int64_t tk = MonotonicUs();
    kill(p, sig);
    double lat = -1;
    end = MonotonicMs() + 5000;
    while (lat < 0 && MonotonicMs() < end) {
      watch.Pump(1, [&](const msg::Event& e, int64_t now) {
        if (e.kind == "host.lost" && e.host_id == pid_id) lat = (now - tk) / 1000.0;
        count_lost(e);
      });
    }
    Reap(p);
    return lat;
  };
  std::vector<double> killed, silent;
  int missed = 0;
  for (int i = 0; i < o.kill_probes; ++i) {
    double l = probe(i, SIGKILL);
    l >= 0 ? killed.push_back(l) : (void)missed++;
  }
  for (int i = 0; i < o.silent_probes; ++i) {
    double l = probe(o.kill_probes + i, SIGSTOP);
    l >= 0 ? silent.push_back(l) : (void)missed++;
  }

  StopAll();
  json r = {{"hosts", H},
            {"jobs", o.jobs},
            {"placed", placed_on.size()},
            {"placements_per_s", std::round(pps)},
            {"p50_ms", Percentile(light, 50)},
            {"p99_ms", Percentile(light, 99)},
            {"flood_p50_ms", Percentile(flood_lat, 50)},
            {"flood_p99_ms", Percentile(flood_lat, 99)},
            {"elrond_cpu_s", elrond_cpu},
            {"cpu_ms_per_placement",
             {{"sauron", per_placement_ms(sauron_flood_cpu)},
              {"elrond", per_placement_ms(elrond_cpu)},
              {"simulated_hosts", per_placement_ms(sims_flood_cpu)}}},
            {"flood_runqueue_wait_ms", runqueue_wait_ms},
            {"control_nice", o.control_nice},
            {"elrond_cpu_pct_during_flood", flood_s > 0 ? 100.0 * elrond_cpu / flood_s : 0},
            {"elrond_peak_rss_mb", elrond_rss_kb / 1024.0},
            {"detect_p50_ms", Percentile(killed, 50)},
            {"detect_p99_ms", Percentile(killed, 99)},
            {"detect_each_ms", killed},
            {"silent_detect_p50_ms", Percentile(silent, 50)},
            {"silent_detect_p99_ms", Percentile(silent, 99)},
            {"detect_missed", missed},
            {"false_lost", false_lost},
            {"sauron_idle_cpu_pct", sauron_idle_pct},
            {"elrond_idle_cpu_pct", elrond_idle_pct},
            {"hosts_used", used.size()},
            {"hosts_lower_bound", lower_bound},
            {"host_ram_mb", cap_ram},
            {"lost_after_ms", o.lost_after_ms},
            {"zmtp_heartbeat_ms", o.zmtp_heartbeat_ms},
            {"elrond_counters_after_flood", auction_counters},
            {"sauron_api_during_flood", sauron_api}};
  if (soak) {
    r["soak_s"] = o.soak_seconds;
    r["soak_churn_per_s"] = o.soak_churn;
    r["soak_placed"] = soak_placed;
    r["soak_stopped"] = soak_stopped;
    r["soak_p99_ms"] = Percentile(soak_lat, 99);
    r["soak_false_lost"] = false_lost - false_lost_before_soak;
    r["soak_sauron_cpu_pct"] = soak_sauron_pct;
    r["soak_elrond_cpu_pct"] = soak_elrond_pct;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rv-auction-bench"};
  Options o;
  std::string hosts = "10,100,1000";
  app.add_option("--sauron", o.sauron)->required();
  app.add_option("--elrond", o.elrond)->required();
  app.add_option("--sim", o.sim)->required();
  app.add_option("--out", o.out)->required();
  app.add_option("--workdir", o.workdir, "scratch dir")->default_val("/tmp/rv-bench-auction");
  app.add_option("--hosts", hosts, "comma-separated host counts");
  app.add_option("--jobs", o.jobs);
  app.add_option("--latency-jobs", o.latency_jobs);
  app.add_option("--kill-probes", o.kill_probes);
  app.add_option("--silent-probes", o.silent_probes);
  app.add_option("--idle-seconds", o.idle_seconds);
  app.add_option("--sample-hosts", o.sample_hosts);
  app.add_option("--batch-max", o.batch_max);
  app.add_option("--lost-after-ms", o.lost_after_ms);
  app.add_option("--zmtp-heartbeat-ms", o.zmtp_heartbeat_ms);
  app.add_option("--heartbeat-ms", o.heartbeat_ms);
  app.add_option("--control-nice", o.control_nice, "nice value of sauron and elrond (negative: ahead of the simulated hosts)");
  app.add_option("--elrond-log-level", o.elrond_log_level, "debug shows every auction");
  app.add_option("--soak-seconds", o.soak_seconds, "churn under load this long, counting false 'lost'");
  app.add_option("--soak-churn", o.soak_churn, "jobs replaced per second during the soak");
  app.add_option("--soak-hosts", o.soak_hosts, "soak only at this host count (0 = at every one)");
  CLI11_PARSE(app, argc, argv);
  o.hosts.clear();
  std::stringstream ss(hosts);
  for (std::string h; std::getline(ss, h, ',');) o.hosts.push_back(std::stoi(h));
  signal(SIGPIPE, SIG_IGN);

  json results = json::array();
  for (int H : o.hosts) {
    try {
      results.push_back(RunOne(o, H));
    } catch (const std::exception& e) {
      fprintf(stderr, "[%d hosts] failed: %s\n", H, e.what());
      StopAll();
      results.push_back({{"hosts", H}, {"error", e.what()}});
    }
    std::ofstream(o.out) << results.dump(2) << "\n";  // after each size: a long run keeps what it measured
  }
  printf("%6s %7s %9s %8s %8s %9s %9s %10s %9s %9s %7s %6s %6s\n", "hosts", "jobs", "place/s", "p50_ms", "p99_ms",
         "kill_p99", "stop_p99", "elrond_MB", "sauron%", "false", "used", "lower", "");
  for (auto& r : results) {
    if (r.contains("error")) continue;
    printf("%6d %7d %9.0f %8.2f %8.2f %9.2f %9.2f %10.1f %9.2f %9d %7d %6d\n", r["hosts"].get<int>(),
           r["jobs"].get<int>(), r["placements_per_s"].get<double>(), r["p50_ms"].get<double>(),
           r["p99_ms"].get<double>(), r["detect_p99_ms"].get<double>(), r["silent_detect_p99_ms"].get<double>(),
           r["elrond_peak_rss_mb"].get<double>(), r["sauron_idle_cpu_pct"].get<double>(),
           r["false_lost"].get<int>(), r["hosts_used"].get<int>(), r["hosts_lower_bound"].get<int>());
  }
  return 0;
}
