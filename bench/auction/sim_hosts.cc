// rv-sim-hosts: many simulated hosts in one process, for the pod-scale auction
// benchmark. Each host is a real strider Agent (same bidding, reservations,
// claim-then-ack code as the daemon) with its own sockets, routing id and
// CURVE key; only the workload is simulated (SimWorkload: no process).
//
//   rv-sim-hosts --pod POD.json --prefix sim --first 0 --count 500
//                [--ram-mb N --disk-mb N --cpu-millis N]
// Keys are read from <pod_dir>/keys/<prefix>-<NNNN>.key. Prints "ready N" on
// stdout once every host was welcomed by sauron.
#include <sys/epoll.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "strider/agent.h"
#include "strider/announce_cache.h"
#include "strider/sim_workload.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rv-sim-hosts: simulated hosts for the auction benchmark"};
  std::string pod_path, prefix = "sim", level = "warn";
  int first = 0, count = 1;
  rv::strider::CapacityOverride cap{16384, 100000, 16000};
  app.add_option("--pod", pod_path)->required();
  app.add_option("--prefix", prefix);
  app.add_option("--first", first);
  app.add_option("--count", count);
  app.add_option("--ram-mb", cap.ram_mb);
  app.add_option("--disk-mb", cap.disk_mb);
  app.add_option("--cpu-millis", cap.cpu_millis);
  app.add_option("--log-level", level);
  CLI11_PARSE(app, argc, argv);
  rv::InitLogging("sim-hosts", level);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  auto cfg = rv::LoadPodConfig(pod_path);
  if (!cfg.ok()) {
    fprintf(stderr, "%s\n", cfg.status().ToString().c_str());
    return 1;
  }
  auto skey = rv::transport::LoadPublicKey(cfg->KeyPath("sauron") + ".pub");
  auto ekey = rv::transport::LoadPublicKey(cfg->KeyPath("elrond") + ".pub");
  if (!skey.ok() || !ekey.ok()) {
    fprintf(stderr, "cannot load server keys\n");
    return 1;
  }
  zmq::context_t ctx = rv::transport::MakeContext(1, 65536);
  auto factory = std::make_shared<rv::strider::SimWorkloadFactory>();
  // One beacon thread for every simulated host: a real host's agent decodes
  // one copy of an announce, this process decodes hundreds, and the stall must
  // not read as hundreds of dead hosts.
  rv::strider::BeaconPump beacon_pump;
  // Likewise one decoding of each announce for all hosts of this process
  // (strider/announce_cache.h): the hosts of a real pod decode in parallel.
  rv::strider::AnnounceCache announce_cache;
  std::vector<std::unique_ptr<rv::strider::Agent>> agents;
  for (int i = first; i < first + count; ++i) {
    char id[64];
    snprintf(id, sizeof id, "%s-%04d", prefix.c_str(), i);
    auto key = rv::transport::LoadKeypair(cfg->KeyPath(id));
    if (!key.ok()) {
      fprintf(stderr, "%s\n", key.status().ToString().c_str());
      return 1;
    }
    rv::strider::AgentOptions o;
    o.host_id = id;
    o.key = *key;
    o.sauron_api = cfg->sauron.api;
    o.sauron_pub = cfg->sauron.pub;  // each host hears of its own jobs, as a strider does
    o.sauron_public_key = *skey;
    o.elrond_endpoint = cfg->elrond.endpoint;
    o.elrond_public_key = *ekey;
    o.data_dir = "/tmp";
    o.capacity = cap;
    o.zmtp_heartbeat_ms = cfg->sauron.zmtp_heartbeat_ms;
    o.zmtp_timeout_ms = 3 * cfg->sauron.zmtp_heartbeat_ms;
    o.measure_interval_ms = 1000000;  // capacities are overridden: nothing to measure
    o.beacon_pump = &beacon_pump;
    o.announce_cache = &announce_cache;
    // The watchdog is for one host's wedged loop; this loop turns for 500
    // hosts and may legitimately take seconds under a flood on a busy machine.
    o.beacon_watchdog_ms = 0;
    agents.push_back(std::make_unique<rv::strider::Agent>(ctx, o, factory));
    if (rv::Status s = agents.back()->Start(); !s.ok()) {
      fprintf(stderr, "%s: %s\n", id, s.ToString().c_str());
      return 1;
    }
  }
  // zmq_poll over thousands of sockets costs milliseconds per call, which would
  // make the simulator, not the scheduler, the bottleneck. Instead each socket's
  // ZMQ_FD (edge-triggered: "something changed") sits in one epoll set, and only
  // hosts whose sockets fired are looked at; a periodic sweep catches anything
  // an edge could have hidden.
  const size_t K = rv::strider::Agent::kPollItems;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<void*> registered(agents.size() * K, nullptr);
  std::vector<uint64_t> sockets_version(agents.size(), ~uint64_t{0});
  std::vector<char> dirty(agents.size(), 1);
  std::vector<int64_t> due(agents.size(), 0);  // when each host's timers next need its Tick
  std::vector<epoll_event> ready(256);
  bool announced = false;
  int64_t next_report = 0;
  // Per turn, only hosts whose sockets fired are looked at, and they run their
  // timers at once (so a won job's reports leave in the same turn). A host's
  // Tick otherwise runs only when its own timers are due (Agent::NextTickMs,
  // kept in `due`, which is scanned without touching the hosts), so an idle
  // host costs nothing: looking at all 1000 hosts every 10 ms (Tick, and
  // fetching their sockets) was once half of this process's CPU, and that
  // once with ZMQ_EVENTS for each socket, each a poll(2), most of the bench's.
  // A host whose Tick sent something is looked at again, as a send can
  // swallow the ZMQ_FD signal of input already queued. Every kSafetySweepMs
  // every host is looked at and ticked anyway.
  std::vector<zmq::pollitem_t> mine;
  auto poll_items_of = [&](size_t a) {
    mine.clear();
    agents[a]->AppendPollItems(&mine);
    for (auto& it : mine) {
      it.revents = 0;
      if (it.events == 0) continue;
      int events = 0;
      size_t len = sizeof events;
      zmq_getsockopt(it.socket, ZMQ_EVENTS, &events, &len);
      it.revents = static_cast<short>(events & ZMQ_POLLIN);
    }
  };
  auto has_input = [&](size_t a) {
    poll_items_of(a);
    for (const auto& it : mine) {
      if (it.revents) return true;
    }
    return false;
  };
  // After a host ran: its next timer, and its sockets into the epoll set if
  // it made new ones.
  auto after_run = [&](size_t a, int64_t now) {
    due[a] = agents[a]->NextTickMs(now);
    if (agents[a]->sockets_version() == sockets_version[a]) return;
    sockets_version[a] = agents[a]->sockets_version();
    mine.clear();
    agents[a]->AppendPollItems(&mine);
    for (size_t k = 0; k < K; ++k) {
      size_t i = a * K + k;
      if (mine[k].events == 0 || registered[i] == mine[k].socket) continue;
      registered[i] = mine[k].socket;
      dirty[a] = 1;
      int fd = -1;
      size_t len = sizeof fd;
      zmq_getsockopt(mine[k].socket, ZMQ_FD, &fd, &len);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    }
  };
  constexpr int64_t kTickEveryMs = 10;
  constexpr int64_t kSafetySweepMs = 1000;
  int64_t next_tick = 0;
  int64_t next_safety_sweep = 0;
  std::vector<size_t> touched;
  while (!g_stop) {
    int64_t now = rv::MonotonicMs();
    if (now >= next_safety_sweep) {
      next_safety_sweep = now + kSafetySweepMs;
      std::fill(dirty.begin(), dirty.end(), 1);
      std::fill(due.begin(), due.end(), 0);
    }
    bool pending = std::find(dirty.begin(), dirty.end(), 1) != dirty.end();
    int wait = pending ? 0 : static_cast<int>(std::clamp<int64_t>(next_tick - now, 0, kTickEveryMs));
    int n = epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), wait);
    for (int i = 0; i < n; ++i) dirty[ready[i].data.u64 / K] = 1;
    // ZMQ_FD only signals a change; a send or receive on the socket can consume
    // the signal of a message that is already queued. So a host whose sockets
    // still have input after it ran stays dirty for the next turn: without
    // this, announces waited for the periodic sweep and bids missed elrond's
    // deadline while this process sat idle.
    touched.clear();
    for (size_t a = 0; a < agents.size(); ++a) {
      if (!dirty[a]) continue;
      dirty[a] = 0;
      poll_items_of(a);
      agents[a]->HandleReady(mine.data());
      touched.push_back(a);
    }
    now = rv::MonotonicMs();
    for (size_t a : touched) {
      agents[a]->Tick(now);
      if (has_input(a)) dirty[a] = 1;
      after_run(a, now);
    }
    if (now < next_tick) continue;
    next_tick = now + kTickEveryMs;
    for (size_t a = 0; a < agents.size(); ++a) {
      if (due[a] > now) continue;
      uint64_t sends = agents[a]->sends();
      agents[a]->Tick(now);
      if (agents[a]->sends() != sends) dirty[a] = 1;
      after_run(a, now);
    }
    if (!announced) {
      size_t welcomed = 0;
      for (auto& a : agents) welcomed += a->welcomed();
      if (welcomed == agents.size()) {
        printf("ready %zu\n", welcomed);
        fflush(stdout);
        announced = true;
      }
    }
    if (now >= next_report) {
      // Beacon health of this simulator: if sauron declares hosts lost, this
      // says whether they stopped sending or their beacons went unheard.
      next_report = now + 5000;
      int64_t sent = 0, failed = 0, withheld = 0, inactive = 0;
      for (auto& a : agents) {
        sent += a->beacon().sent();
        failed += a->beacon().failed();
        withheld += a->beacon().withheld();
        inactive += !a->beacon().active();
      }
      spdlog::warn("beacons: sent {} failed {} withheld {}, {} hosts without a session, pump stalls {}", sent, failed,
                   withheld, inactive, beacon_pump.stalls());
    }
  }
  return 0;
}
