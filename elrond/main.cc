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

#include <optional>

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

// SIGTERM/SIGINT as a readable fd, so the poll loop sees them; -1 on failure.
int StopSignalFd() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

// sauron may start after us and create its key then: waits for it. nullopt:
// a stop signal came first.
std::optional<std::string> WaitForSauronKey(const rv::PodConfig& cfg, int sfd) {
  for (int i = 0;; ++i) {
    auto k = rv::SauronPublicKey(cfg);
    if (k.ok()) return *k;
    if (i % 20 == 0) spdlog::info("waiting for sauron's public key: {}", k.status().message());
    signalfd_siginfo si;
    if (read(sfd, &si, sizeof si) == sizeof si) return std::nullopt;
    usleep(100 * 1000);
  }
}

// The counters that mean a peer sent something elrond refused.
bool IsRejection(const std::string& k) {
  return k.rfind("msg.", 0) == 0 || k.rfind("security.", 0) == 0 || k.rfind("change.", 0) == 0 ||
         k == "bid.lying" || k == "bid.spoofed" || k == "bid.unknown_auction" || k == "bid.unsolicited" ||
         k == "bid.duplicate" || k == "bid.unknown_host" || (k.rfind("ack.", 0) == 0 && k != "ack.ok");
}

// The scheduler's loop: resync from a snapshot when out of step, then
// messages first and timers after, with periodic counters and stats.
class Scheduler {
 public:
  Scheduler(const rv::PodConfig& cfg, const rv::transport::CurveKeypair& mine, const std::string& sauron_key,
            zmq::context_t& ctx)
      : cfg_(cfg),
        striders_(ctx, mine, &counters_),
        sauron_(ctx, cfg, mine, sauron_key, &counters_),
        engine_(rv::elrond::OptionsFromConfig(cfg.elrond), &striders_, &sauron_, &counters_) {
    for (const auto& h : cfg.hosts) {
      if (!h.public_key.empty()) striders_.SetHostKey(h.id, h.public_key, true);
    }
    engine_.OnHostKey([this](const std::string& id, const std::string& key, bool allow) {
      striders_.SetHostKey(id, key, allow);
    });
  }

  // Serves until a stop signal on `sfd`; returns the exit code.
  int Serve(int sfd) {
    next_stats_ = Now() + 10000;
    next_counters_ = Now() + 1000;
    while (true) {
      int64_t now = Now();
      if (need_snapshot_ && now >= next_snapshot_) {
        if (rv::Status s = Resync(); !s.ok()) {
          spdlog::critical("{}", s.ToString());
          return 1;
        }
        now = Now();
      }
      if (!Poll(sfd, now)) {
        spdlog::info("signal received; stopping");
        return 0;
      }
      // Messages first, timers after: a bid that queued while we were busy is
      // judged before its auction's deadline is.
      sauron_.Drain(engine_, &Now);
      striders_.Drain(engine_, &Now);
      if (sauron_.gap() || engine_.needs_resync()) need_snapshot_ = true;
      if (!need_snapshot_) engine_.Tick(Now());
      if (!need_snapshot_ && Now() >= next_counters_) ReportCounters();
      if (Now() >= next_stats_) LogStats();
    }
  }

 private:
  // Takes sauron's snapshot; binds the striders' socket after the first.
  // Not ok only when binding fails (a failed snapshot is retried).
  rv::Status Resync() {
    auto snap = sauron_.TakeSnapshot();
    if (!snap.ok()) {
      spdlog::warn("snapshot from sauron failed: {}; retrying", snap.status().message());
      next_snapshot_ = Now() + 500;
      return rv::Status::Ok();
    }
    engine_.ApplySnapshot(*snap, Now());
    sauron_.Synced(snap->seq);
    need_snapshot_ = false;
    if (bound_) return rv::Status::Ok();
    // Only now does the ZAP allow-list know the enrolled hosts: binding
    // earlier would refuse every strider that connects first.
    if (rv::Status s = striders_.Bind(cfg_.elrond.endpoint); !s.ok()) return s;
    bound_ = true;
    spdlog::info("elrond listening on {}", striders_.endpoint());
    return rv::Status::Ok();
  }

  // Waits for a message, a timer or a signal; false on a stop signal.
  bool Poll(int sfd, int64_t now) {
    // While out of sync the engine's timers wait (Tick is skipped), so they
    // must not drive the poll timeout either.
    int64_t wake = need_snapshot_ ? next_snapshot_ : engine_.NextWakeMs(now);
    int timeout = static_cast<int>(std::clamp<int64_t>(wake - now, 0, 1000));
    zmq::pollitem_t items[] = {
        {striders_.socket().handle(), 0, ZMQ_POLLIN, 0},
        {sauron_.sub().handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, sfd, ZMQ_POLLIN, 0},
    };
    try {
      zmq::poll(items, 3, std::chrono::milliseconds(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    return (items[2].revents & ZMQ_POLLIN) == 0;
  }

  // elrond's counters and engine state, for `rv counters` (sched.counters).
  void ReportCounters() {
    next_counters_ = Now() + 2000;
    auto st = engine_.Stats();
    auto all = counters_.Snapshot();
    all["jobs.queued"] = st.queued;
    all["jobs.announced"] = st.announced;
    all["jobs.awarded"] = st.awarded;
    all["jobs.placed"] = st.placed;
    all["jobs.unplaceable"] = st.unplaceable;
    all["auctions.open"] = st.open_auctions;
    all["hosts.up"] = st.hosts_up;
    all["auction.deadline_ms"] = engine_.BidDeadlineMs();
    if (rv::Status s = sauron_.ReportCounters(all); !s.ok()) spdlog::debug("reporting counters: {}", s.message());
  }

  void LogStats() {
    next_stats_ = Now() + 10000;
    auto st = engine_.Stats();
    spdlog::info("hosts up {}, auctions open {}, jobs: queued {} announced {} awarded {} placed {} pending {} "
                 "orphan {} uncertain {}; refused connections {}",
                 st.hosts_up, st.open_auctions, st.queued, st.announced, st.awarded, st.placed, st.unplaceable,
                 st.orphans, st.uncertain, striders_.refused());
    // Rejections are only worth a line when they changed.
    std::string rejected;
    for (const auto& [k, v] : counters_.Snapshot()) {
      if (IsRejection(k)) rejected += (rejected.empty() ? "" : ", ") + k + "=" + std::to_string(v);
    }
    if (rejected != last_rejected_) {
      spdlog::info("counters: {}", rejected.empty() ? "no rejections" : rejected);
      last_rejected_ = rejected;
    }
  }

  const rv::PodConfig& cfg_;
  rv::Counters counters_;
  rv::elrond::StriderLink striders_;
  rv::elrond::SauronLink sauron_;
  rv::elrond::AuctionEngine engine_;
  bool bound_ = false;
  bool need_snapshot_ = true;
  int64_t next_snapshot_ = 0;
  int64_t next_stats_ = 0;
  int64_t next_counters_ = 0;
  std::string last_rejected_;
};

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
  int sfd = StopSignalFd();
  if (sfd < 0) {
    spdlog::critical("signalfd failed");
    return 2;
  }
  auto sauron_key = WaitForSauronKey(*cfg, sfd);
  if (!sauron_key) {
    close(sfd);
    return 0;
  }
  zmq::context_t ctx = transport::MakeContext(1);
  int code;
  {
    Scheduler scheduler(*cfg, *mine, *sauron_key, ctx);
    spdlog::info("elrond starting (key {}), sauron at {}", transport::KeyFingerprint(mine->public_key),
                 cfg->sauron.api);
    code = scheduler.Serve(sfd);
  }
  close(sfd);
  return code;
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
