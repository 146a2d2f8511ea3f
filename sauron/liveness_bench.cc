// sauron_liveness_bench: the cost and speed of sauron's host liveness at pod scale.
//
// Starts the real `sauron` binary (a separate process, so its CPU can be read
// from /proc), enrolls N simulated hosts, connects each over its own CURVE
// DEALER (own key), says hello naming its connection, and heartbeats every
// heartbeat_ms. Then:
//   * CPU: sauron's user+system time over a quiet window, as % of one core
//     (ZMTP PING/PONG every zmtp_heartbeat_ms plus app heartbeats).
//   * detection: closes K host connections one at a time (what a killed
//     process's kernel does) and times close -> host.lost on the change stream.
//   * false positives: any host.lost for a host that was not closed.
// Prints a table and one JSON object on the last line.
//
//   sauron_liveness_bench [--hosts 1000] [--seconds 10] [--kills 50]
#include <CLI/CLI.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/msg/topics.h"
#include "common/clock.h"
#include "common/msg/envelope.h"
#include "common/msg/protocol.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "common/transport/monitor.h"
#include "common/transport/rpc_client.h"

using namespace rv;
using namespace std::chrono_literals;

namespace {

double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string f;
  std::vector<std::string> fields;
  while (rest >> f) fields.push_back(f);
  // After the comm field: state(0) ... utime(11) stime(12)
  if (fields.size() < 13) return 0;
  return (std::stod(fields[11]) + std::stod(fields[12])) / sysconf(_SC_CLK_TCK);
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5));
  return v[i];
}

struct Host {
  std::string id;
  transport::CurveKeypair kp;
  std::unique_ptr<zmq::socket_t> sock;
  std::unique_ptr<transport::ConnectionMonitor> mon;
  std::string local;
  bool up = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sauron liveness benchmark"};
  int n = 1000, seconds = 10, kills = 50, hb_ms = 1000, zmtp_ms = 200, lost_ms = 600;
  app.add_option("--hosts", n);
  app.add_option("--seconds", seconds, "CPU measurement window");
  app.add_option("--kills", kills, "connections closed to time detection");
  app.add_option("--heartbeat-ms", hb_ms);
  app.add_option("--zmtp-heartbeat-ms", zmtp_ms);
  app.add_option("--lost-after-ms", lost_ms);
  CLI11_PARSE(app, argc, argv);
  kills = std::min(kills, n);

  auto dir = std::filesystem::temp_directory_path() / ("rv-liveness-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "keys");
  auto admin_kp = transport::GenerateKeypair();
  (void)transport::SaveKeypair((dir / "keys/admin.key").string(), admin_kp);
  int port = 20000 + getpid() % 20000;
  std::string api = "tcp://127.0.0.1:" + std::to_string(port);
  std::string pub = "tcp://127.0.0.1:" + std::to_string(port + 1);
  {
    std::ofstream(dir / "pod.json") << "{\"sauron\": {\"api\": \"" << api << "\", \"pub\": \"" << pub
                                    << "\", \"heartbeat_ms\": " << hb_ms << ", \"zmtp_heartbeat_ms\": " << zmtp_ms
                                    << ", \"lost_after_ms\": " << lost_ms
                                    // Detection speed: with the agent grace (docs/SCEPTRE.md) host.lost
                                    // would come 2 s later; host.agent_gone comes where it did.
                                    << ", \"disconnect_grace_ms\": 0}}";
  }
  std::string sauron_bin = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "sauron").string();
  std::string pod = (dir / "pod.json").string();
  pid_t sauron = fork();
  if (sauron == 0) {
    execl(sauron_bin.c_str(), sauron_bin.c_str(), "--pod", pod.c_str(), "--log-level", "warn",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  auto cleanup = [&] {
    kill(sauron, SIGTERM);
    waitpid(sauron, nullptr, 0);
    std::filesystem::remove_all(dir);
  };
  std::string server_key;
  for (int i = 0; i < 100 && server_key.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
    auto k = transport::LoadPublicKey((dir / "keys/sauron.key.pub").string());
    if (k.ok()) server_key = *k;
  }
  if (server_key.empty()) {
    std::fprintf(stderr, "sauron did not start\n");
    cleanup();
    return 1;
  }
  zmq::context_t ctx = transport::MakeContext(2, 65536);
  transport::RpcClient admin(ctx, api, admin_kp, server_key);
  std::vector<Host> hosts(n);
  for (int i = 0; i < n; ++i) {
    hosts[i].id = "sim" + std::to_string(i);
    hosts[i].kp = transport::GenerateKeypair();
    msg::EnrollHost e;
    e.host_id = hosts[i].id;
    e.public_key = hosts[i].kp.public_key;
    Status s = Status::Unavailable("");
    for (int t = 0; t < 20 && !s.ok(); ++t) s = admin.Call(e, 2000ms);
    if (!s.ok()) {
      std::fprintf(stderr, "enroll %s: %s\n", e.host_id.c_str(), s.ToString().c_str());
      cleanup();
      return 1;
    }
  }
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  transport::SetDefaults(sub);
  transport::MakeCurveClient(sub, admin_kp, server_key);
  sub.set(zmq::sockopt::subscribe, msg::PodTopic("host.lost"));
  sub.connect(pub);

  for (auto& h : hosts) {
    h.sock = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    transport::SetDefaults(*h.sock);
    transport::MakeCurveClient(*h.sock, h.kp, server_key);
    h.mon = std::make_unique<transport::ConnectionMonitor>(ctx, *h.sock);
    h.sock->connect(api);
  }
  // Connect + hello, all in parallel.
  int64_t end = MonotonicMs() + 30000;
  int welcomed = 0;
  std::vector<bool> sent(n, false);
  std::vector<int64_t> last_hb(n, 0);
  while (welcomed < n && MonotonicMs() < end) {
    for (int i = 0; i < n; ++i) {
      Host& h = hosts[i];
      // Welcomed hosts keep heartbeating while the others connect, or the
      // backstop would (rightly) declare them lost.
      if (h.up && MonotonicMs() - last_hb[i] >= hb_ms) {
        msg::Heartbeat hb;
        hb.host_id = h.id;
        std::string b = msg::Encode(hb);
        h.sock->send(zmq::buffer(b), zmq::send_flags::dontwait);
        last_hb[i] = MonotonicMs();
      }
      while (auto ev = h.mon->Next()) {
        if (ev->kind == transport::ConnEvent::kConnected) h.local = ev->local;
      }
      if (!h.local.empty() && !sent[i]) {
        msg::HostHello hello;
        hello.host_id = h.id;
        hello.address = "127.0.0.1";
        hello.capacity = {65536, 1 << 20, 32000};
        hello.free = hello.capacity;
        hello.conn_endpoint = h.local;
        std::string b = msg::Encode(hello, 1);
        sent[i] = h.sock->send(zmq::buffer(b), zmq::send_flags::dontwait).has_value();
      }
      zmq::message_t m;
      if (sent[i] && !h.up && h.sock->recv(m, zmq::recv_flags::dontwait)) {
        auto env = msg::DecodeEnvelope(m.data(), m.size());
        msg::Reply r;
        if (env.ok() && msg::DecodeBody(*env, &r).ok() && r.code == 0) {
          h.up = true;
          last_hb[i] = MonotonicMs();
          ++welcomed;
        } else if (env.ok()) {
          std::fprintf(stderr, "%s: hello refused: %s\n", h.id.c_str(), r.error.c_str());
        }
      }
    }
    std::this_thread::sleep_for(1ms);
  }
  if (welcomed < n) {
    int no_conn = 0, not_sent = 0;
    for (int i = 0; i < n; ++i) {
      no_conn += hosts[i].local.empty();
      not_sent += !hosts[i].local.empty() && !sent[i];
    }
    std::fprintf(stderr, "only %d of %d hosts welcomed (%d without a connection, %d hello not sent)\n", welcomed, n,
                 no_conn, not_sent);
    cleanup();
    return 1;
  }
  // Steady state: every host heartbeats every hb_ms (spread over the interval).
  auto heartbeat_round = [&](int64_t round_start) {
    for (int i = 0; i < n; ++i) {
      int64_t due = round_start + static_cast<int64_t>(i) * hb_ms / n;
      while (MonotonicMs() < due) std::this_thread::sleep_for(200us);
      if (!hosts[i].sock) continue;
      msg::Heartbeat hb;
      hb.host_id = hosts[i].id;
      hb.free = {60000, 1 << 19, 30000};
      std::string b = msg::Encode(hb);
      hosts[i].sock->send(zmq::buffer(b), zmq::send_flags::dontwait);
      zmq::message_t drop;
      while (hosts[i].sock->recv(drop, zmq::recv_flags::dontwait)) {
      }
    }
  };
  heartbeat_round(MonotonicMs());  // warm-up
  double cpu0 = CpuSeconds(sauron);
  int64_t t0 = MonotonicMs();
  for (int r = 0; r < seconds * 1000 / hb_ms; ++r) heartbeat_round(MonotonicMs());
  double cpu = CpuSeconds(sauron) - cpu0;
  double wall = (MonotonicMs() - t0) / 1000.0;
  double cpu_pct = 100.0 * cpu / wall;

  // Drain host.lost seen so far (false positives).
  int false_pos = 0;
  auto next_lost = [&](int timeout_ms) -> std::string {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
    zmq::message_t topic, body;
    if (!sub.recv(topic, zmq::recv_flags::dontwait)) return "";
    if (!topic.more() || !sub.recv(body)) return "";
    auto env = msg::DecodeEnvelope(body.data(), body.size());
    msg::Change c;
    if (!env.ok() || !msg::DecodeBody(*env, &c).ok()) return "";
    return c.event.host_id;
  };
  for (std::string h; !(h = next_lost(10)).empty();) ++false_pos;

  std::vector<double> detect_ms;
  for (int k = 0; k < kills; ++k) {
    Host& h = hosts[k];
    int64_t start = MonotonicUs();
    h.mon.reset();
    h.sock.reset();  // linger 0: the TCP connection closes now
    for (int64_t stop = MonotonicMs() + 3000; MonotonicMs() < stop;) {
      std::string who = next_lost(50);
      if (who == h.id) {
        detect_ms.push_back((MonotonicUs() - start) / 1000.0);
        break;
      }
      if (!who.empty()) ++false_pos;
    }
    std::this_thread::sleep_for(20ms);
  }
  for (std::string h; !(h = next_lost(200)).empty();) ++false_pos;

  std::printf("%-8s %-10s %-10s %-12s %-12s %-12s %-10s\n", "hosts", "cpu_%core", "window_s", "detect_p50", "detect_p99",
              "detected", "false_pos");
  std::printf("%-8d %-10.2f %-10.1f %-12.2f %-12.2f %-12s %-10d\n", n, cpu_pct, wall, Pct(detect_ms, 50),
              Pct(detect_ms, 99), (std::to_string(detect_ms.size()) + "/" + std::to_string(kills)).c_str(), false_pos);
  std::printf(
      "{\"hosts\": %d, \"heartbeat_ms\": %d, \"zmtp_heartbeat_ms\": %d, \"lost_after_ms\": %d, \"sauron_cpu_pct\": %.3f, "
      "\"close_detect_p50_ms\": %.3f, \"close_detect_p99_ms\": %.3f, \"detected\": %zu, \"closed\": %d, "
      "\"false_positives\": %d}\n",
      n, hb_ms, zmtp_ms, lost_ms, cpu_pct, Pct(detect_ms, 50), Pct(detect_ms, 99), detect_ms.size(), kills, false_pos);
  hosts.clear();
  sub.close();
  cleanup();
  return detect_ms.size() == static_cast<size_t>(kills) && false_pos == 0 ? 0 : 1;
}
