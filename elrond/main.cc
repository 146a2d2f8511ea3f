// elrond: the pod's scheduler daemon.
//
//   elrond --pod pod.json [--log-level info]
//
// One thread, one poll loop: strider messages (ROUTER), sauron's change stream
// (SUB) and a signalfd for SIGTERM/SIGINT; the engine's timers decide the poll
// timeout. All state lives in sauron, so a restart (or kill -9) loses nothing:
// the new process takes a snapshot and carries on (see docs/SCHEDULER.md).
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "elrond/auction.h"
#include "elrond/sauron_link.h"
#include "elrond/strider_link.h"

namespace {

int64_t Now() { return rv::MonotonicMs(); }

int Run(const std::string& pod_path) {
  using namespace rv;
  auto cfg = LoadPodConfig(pod_path);
  if (!cfg.ok()) {
    spdlog::critical("{}", cfg.status().ToString());
    return 2;
  }
  auto mine = transport::LoadOrCreateKeypair(cfg->KeyPath("elrond"));
  if (!mine.ok()) {
    spdlog::critical("elrond key: {}", mine.status().ToString());
    return 2;
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    spdlog::critical("signalfd failed");
    return 2;
  }

  // sauron may start after us and create its key then: wait for it.
  std::string sauron_key;
  for (int i = 0;; ++i) {
    auto k = SauronPublicKey(*cfg);
    if (k.ok()) {
      sauron_key = *k;
      break;
    }
    if (i % 20 == 0) spdlog::info("waiting for sauron's public key: {}", k.status().message());
    signalfd_siginfo si;
    if (read(sfd, &si, sizeof si) == sizeof si) return 0;
    usleep(100 * 1000);
  }

  Counters counters;
  zmq::context_t ctx = transport::MakeContext(1);
  elrond::StriderLink striders(ctx, *mine, &counters);
  for (const auto& h : cfg->hosts) {
    if (!h.public_key.empty()) striders.SetHostKey(h.id, h.public_key, true);
  }
  elrond::SauronLink sauron(ctx, *cfg, *mine, sauron_key, &counters);
  elrond::AuctionEngine engine(elrond::OptionsFromConfig(cfg->elrond), &striders, &sauron, &counters);
  engine.OnHostKey([&](const std::string& id, const std::string& key, bool allow) {
    striders.SetHostKey(id, key, allow);
  });
  spdlog::info("elrond starting (key {}), sauron at {}", transport::KeyFingerprint(mine->public_key),
               cfg->sauron.api);
  bool bound = false;

  int64_t next_snapshot = 0;
  int64_t next_stats = Now() + 10000;
  int64_t next_counters = Now() + 1000;
  std::string last_rejected;
  bool need_snapshot = true;
  while (true) {
    int64_t now = Now();
    if (need_snapshot && now >= next_snapshot) {
      auto snap = sauron.TakeSnapshot();
      if (snap.ok()) {
        engine.ApplySnapshot(*snap, Now());
        sauron.Synced(snap->seq);
        need_snapshot = false;
        if (!bound) {
          // Only now does the ZAP allow-list know the enrolled hosts: binding
          // earlier would refuse every strider that connects first.
          if (Status s = striders.Bind(cfg->elrond.endpoint); !s.ok()) {
            spdlog::critical("{}", s.ToString());
            return 1;
          }
          bound = true;
          spdlog::info("elrond listening on {}", striders.endpoint());
        }
      } else {
        spdlog::warn("snapshot from sauron failed: {}; retrying", snap.status().message());
        next_snapshot = Now() + 500;
      }
      now = Now();
    }
    // While out of sync the engine's timers wait (Tick is skipped), so they
    // must not drive the poll timeout either.
    int64_t wake = need_snapshot ? next_snapshot : engine.NextWakeMs(now);
    int timeout = static_cast<int>(std::clamp<int64_t>(wake - now, 0, 1000));
    zmq::pollitem_t items[] = {
        {striders.socket().handle(), 0, ZMQ_POLLIN, 0},
        {sauron.sub().handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, sfd, ZMQ_POLLIN, 0},
    };
    try {
      zmq::poll(items, 3, std::chrono::milliseconds(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    if (items[2].revents & ZMQ_POLLIN) {
      spdlog::info("signal received; stopping");
      break;
    }
    // Messages first, timers after: a bid that queued while we were busy is
    // judged before its auction's deadline is.
    sauron.Drain(engine, &Now);
    striders.Drain(engine, &Now);
    if (sauron.gap() || engine.needs_resync()) need_snapshot = true;
    if (!need_snapshot) engine.Tick(Now());
    if (!need_snapshot && Now() >= next_counters) {
      next_counters = Now() + 2000;
      auto st = engine.Stats();
      auto all = counters.Snapshot();
      all["jobs.queued"] = st.queued;
      all["jobs.announced"] = st.announced;
      all["jobs.awarded"] = st.awarded;
      all["jobs.placed"] = st.placed;
      all["jobs.unplaceable"] = st.unplaceable;
      all["auctions.open"] = st.open_auctions;
      all["hosts.up"] = st.hosts_up;
      all["auction.deadline_ms"] = engine.BidDeadlineMs();
      if (Status s = sauron.ReportCounters(all); !s.ok()) spdlog::debug("reporting counters: {}", s.message());
    }
    if (Now() >= next_stats) {
      next_stats = Now() + 10000;
      auto st = engine.Stats();
      spdlog::info("hosts up {}, auctions open {}, jobs: queued {} announced {} awarded {} placed {} pending {} "
                   "orphan {} uncertain {}; refused connections {}",
                   st.hosts_up, st.open_auctions, st.queued, st.announced, st.awarded, st.placed, st.unplaceable,
                   st.orphans, st.uncertain, striders.refused());
      // Rejections are only worth a line when they changed.
      std::string rejected;
      for (const auto& [k, v] : counters.Snapshot()) {
        bool bad = k.rfind("msg.", 0) == 0 || k.rfind("security.", 0) == 0 || k.rfind("change.", 0) == 0 ||
                   k == "bid.lying" || k == "bid.spoofed" || k == "bid.unknown_auction" || k == "bid.unsolicited" ||
                   k == "bid.duplicate" || k == "bid.unknown_host" || (k.rfind("ack.", 0) == 0 && k != "ack.ok");
        if (bad) rejected += (rejected.empty() ? "" : ", ") + k + "=" + std::to_string(v);
      }
      if (rejected != last_rejected) {
        spdlog::info("counters: {}", rejected.empty() ? "no rejections" : rejected);
        last_rejected = rejected;
      }
    }
  }
  close(sfd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"elrond: the Rivendell scheduler"};
  std::string pod = "pod.json";
  std::string level = "info";
  app.add_option("--pod", pod, "pod config (JSON)");
  app.add_option("--log-level", level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);
  rv::InitLogging("elrond", level);
  try {
    return Run(pod);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
