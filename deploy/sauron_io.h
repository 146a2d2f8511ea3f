// RolloutIo over sauron's admin API (cli::Client, the pod's admin key): what
// `rv rollback`, `rv ps:scale` and rv-deploy drive a rollout with.
// Header-only so each binary links it with its own copy of cli/client.cc.
// Not thread-safe (one Client, one request at a time).
#pragma once

#include <chrono>
#include <thread>

#include "cli/client.h"
#include "common/clock.h"
#include "common/msg/env_config.h"
#include "common/msg/overlay.h"
#include "deploy/rollout_driver.h"

namespace rv::deploy {

class SauronIo : public RolloutIo {
 public:
  explicit SauronIo(cli::Client& c) : c_(c) {}
  Result<std::vector<msg::JobRecord>> Jobs() override {
    auto l = c_.List("jobs");
    if (!l.ok()) return l.status();
    return std::move(l->jobs);
  }
  Result<int64_t> LastEventSeq() override {
    auto l = c_.List("counters");
    if (!l.ok()) return l.status();
    auto it = l->counters.find("events.last_seq");
    return it == l->counters.end() ? int64_t{0} : it->second;
  }
  Result<std::vector<msg::Event>> EventsAfter(int64_t seq) override {
    auto l = c_.List("events", 10000, seq);
    if (!l.ok()) return l.status();
    std::vector<msg::Event> out;
    for (auto& e : l->events) {
      if (e.seq > seq) out.push_back(std::move(e));
    }
    return out;
  }
  Status Submit(std::vector<msg::JobSpec> jobs) override {
    msg::SubmitJobs req;
    req.jobs = std::move(jobs);
    msg::JobIds ids;
    return c_.Call(req, &ids);
  }
  Status Stop(const std::vector<std::string>& ids) override {
    msg::Outcomes out;
    return c_.Call(msg::StopJobs{ids}, &out);
  }
  int64_t NowMs() override { return MonotonicMs(); }
  void SleepMs(int ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

 private:
  cli::Client& c_;
};

// The port web processes listen on: the environment's plain PORT config var
// when it is a port number (the container would see it over the job's PORT
// anyway, so the health check must probe it), else `fallback`.
inline int32_t WebPort(cli::Client& c, const std::string& app, int32_t fallback) {
  msg::ConfigListing l;
  if (!c.Call(msg::ConfigListRequest{app.substr(0, app.rfind('/'))}, &l).ok()) return fallback;
  for (const auto& v : l.vars) {
    if (v.name != "PORT" || v.secret || v.value.empty() || v.value.size() > 5) continue;
    int32_t p = 0;
    for (char ch : v.value) {
      if (ch < '0' || ch > '9') return fallback;
      p = p * 10 + (ch - '0');
    }
    return p >= 1 && p <= 65535 ? p : fallback;
  }
  return fallback;
}

// The line that ends a rollout: where the web replicas answer (their overlay
// addresses; an HTTPS name comes with the service proxy).
inline std::string WhereItAnswers(cli::Client& c, const std::string& app, const std::vector<msg::JobRecord>& running) {
  std::string where;
  msg::OverlayListing ol;
  bool have_overlay = c.Call(msg::OverlayListRequest{app.substr(0, app.rfind('/'))}, &ol).ok();
  for (const auto& j : running) {
    if (j.spec.port == 0) continue;
    std::string addr;
    if (have_overlay) {
      for (const auto& e : ol.envs) {
        for (const auto& r : e.routes) {
          if (r.job_id == j.spec.id) addr = r.addr;
        }
      }
    }
    where += (where.empty() ? "" : ", ") + (addr.empty() ? "?" : "http://" + addr + ":" + std::to_string(j.spec.port)) +
             " (" + j.host_id + ")";
  }
  return where.empty() ? "       no web process: nothing answers HTTP" : "       answers at " + where;
}

}  // namespace rv::deploy
