// rv-edge: the pod's edge. Asks sauron for edge.routes (names -> env, env ->
// proxy endpoints) at start, whenever sauron's change stream says they may
// have changed ("all/edge.changed"), and every --poll-ms as a fallback (a
// lost notice heals; default 5000); renders HAProxy's configuration and names
// map (edge/haproxy_config.h) and applies it with a hitless reload only when it
// changed (edge/haproxy_process.h). docs/PROXY.md, "Edge".
//
//   rv-edge --pod pod.json --dir DIR --listen ADDR [--http-port 80] [--https-port 443]
//           [--public-https-port P] [--key keys/edge.key] [--poll-ms 5000]
//
// It holds only the edge key (role edge: edge.routes and nothing else); no
// tenant key or certificate ever reaches it. Until sauron answers, HAProxy
// runs with no names: every HTTPS connection is refused, every HTTP request
// gets the 404 page. If sauron becomes unreachable the last routes stay.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/event_kinds.h"
#include "common/log.h"
#include "common/msg/proxy.h"
#include "common/msg/topics.h"
#include "common/server_keys.h"
#include "common/stop_signal.h"
#include "common/transport/change_subscriber.h"
#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"
#include "edge/haproxy_config.h"
#include "edge/haproxy_process.h"

int main(int argc, char** argv) {
  CLI::App app{"rv-edge: the pod's edge (HAProxy routing by SNI and Host to environments' proxies)"};
  std::string pod = "pod.json", dir, key, level = "info", haproxy = "/usr/sbin/haproxy";
  rv::edge::EdgeOptions opts;
  int public_https = 0, poll_ms = 5000;
  app.add_option("--pod", pod, "pod config (JSON)");
  app.add_option("--dir", dir, "where haproxy.cfg, names.map and the master socket live")->required();
  app.add_option("--listen", opts.listen, "the pod's public address")->required();
  app.add_option("--http-port", opts.http_port, "plain HTTP (redirects, 404)")->check(CLI::Range(1, 65535));
  app.add_option("--https-port", opts.https_port, "TLS, routed by SNI")->check(CLI::Range(1, 65535));
  app.add_option("--public-https-port", public_https, "the HTTPS port redirects name (default --https-port)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--key", key, "the edge's CURVE key (default <pod>/keys/edge.key)");
  app.add_option("--poll-ms", poll_ms,
                 "ask sauron for routes this often as a fallback; its edge.changed notices make rv-edge ask at once")
      ->check(CLI::Range(50, 3600000));
  app.add_option("--haproxy", haproxy, "the HAProxy binary");
  app.add_option("--log-level", level, "trace, debug, info, warn, error, off");
  CLI11_PARSE(app, argc, argv);
  opts.public_https_port = public_https > 0 ? public_https : opts.https_port;
  rv::InitLogging("rv-edge", level);
  // The names map's path goes into the config as map(PATH): no room for these.
  if (dir.find_first_of(" \t\n,)\"'#") != std::string::npos) {
    spdlog::critical("--dir '{}': HAProxy's map paths cannot hold spaces, quotes, ',', ')' or '#'", dir);
    return 2;
  }

  auto cfg = rv::LoadPodConfig(pod);
  if (!cfg.ok()) {
    spdlog::critical("{}", cfg.status().message());
    return 2;
  }
  if (key.empty()) key = cfg->KeyPath("edge");
  auto kp = rv::transport::LoadKeypair(key);
  if (!kp.ok()) {
    spdlog::critical("cannot load the edge key {}: {}", key, kp.status().message());
    return 2;
  }

  rv::stop_signal::Install();

  rv::edge::HaproxyProcess hp(dir, haproxy);
  opts.names_map = hp.names_map_path();
  rv::msg::EdgeRoutes routes;  // empty until sauron answers
  std::string applied, applied_map;
  int64_t last_restart_log = 0;
  // Applies `routes` if its rendering differs from what HAProxy serves (or
  // HAProxy died); false: not applied yet (HAProxy still loading), retry.
  auto apply = [&]() -> bool {
    auto r = rv::edge::RenderHaproxyConfig(opts, routes);
    bool died = !applied.empty() && !hp.Running();
    if (r.text == applied && r.names_map == applied_map && !died) return true;
    if (died) {
      // E.g. a port taken: retried every turn, said once every 10 s.
      if (rv::MonotonicMs() - last_restart_log > 10000) {
        spdlog::warn("haproxy exited (see its messages above); starting it again");
        last_restart_log = rv::MonotonicMs();
      }
      applied.clear();
      applied_map.clear();
    }
    int64_t t0 = rv::MonotonicMs();
    rv::Status s = hp.Apply(r.text, r.names_map);
    if (!s.ok()) {
      // Unavailable: haproxy is still loading the last one; retried shortly.
      if (s.code() == rv::Status::Code::kUnavailable) {
        spdlog::debug("routes version {} not applied yet: {}", routes.version, s.message());
      } else {
        spdlog::error("routes version {} not applied: {}", routes.version, s.message());
      }
      return false;
    }
    applied = r.text;
    applied_map = r.names_map;
    if (died) return true;
    spdlog::info("haproxy (pid {}) serves routes version {}: {} names, {} envs with proxies{} (applied in {} ms)",
                 hp.master_pid(), routes.version, routes.routes.size(), routes.proxies.size(),
                 r.skipped ? ", " + std::to_string(r.skipped) + " malformed entries left out" : "",
                 rv::MonotonicMs() - t0);
    return true;
  };
  apply();
  if (!hp.Running()) {
    spdlog::critical("haproxy did not start; see the log above");
    return 1;
  }

  zmq::context_t ctx;
  std::unique_ptr<rv::transport::RpcClient> rpc;
  std::unique_ptr<rv::transport::ChangeSubscriber> sub;  // all/edge.changed
  std::vector<zmq::pollitem_t> items;
  bool warned = false, pending = false;
  int64_t next_fetch = 0, next_retry = 0;
  int64_t noticed = 0, noticed_wall = 0;  // the oldest notice whose routes are not live yet
  constexpr int64_t kRetryMs = 250;
  while (!rv::stop_signal::Requested()) {
    // When the subscription subscribes again after a refused handshake (sauron
    // did not allow the edge key yet), the RPC socket is re-made too: under
    // the same key it was refused as well, and libzmq never retries. Both use
    // sauron's key read afresh.
    if (sub && sub->resubscribe_at() > 0 && rv::MonotonicMs() >= sub->resubscribe_at()) {
      rpc.reset();
      auto sk = rv::SauronPublicKey(*cfg);
      if (sk.ok()) {
        sub->set_server_public_key(*sk);
        if (auto t = sub->Tick(rv::MonotonicMs()); !t.ok()) sub.reset();  // subscribed again below
      }
    }
    if (!rpc) {
      auto sk = rv::SauronPublicKey(*cfg);
      if (sk.ok()) {
        rpc = std::make_unique<rv::transport::RpcClient>(ctx, cfg->sauron.api, *kp, *sk);
        if (!sub) {
          rv::transport::ChangeSubscriberOptions so;
          so.endpoint = cfg->sauron.pub;
          so.key = *kp;
          so.server_public_key = *sk;
          so.topics = {rv::msg::PodTopic(rv::event_kind::kEdgeChanged)};
          so.name = "rv-edge change stream";
          auto opened = rv::transport::ChangeSubscriber::Open(ctx, std::move(so));
          if (opened.ok()) {
            sub = std::move(*opened);
          } else {
            spdlog::warn("sauron's changes: {} (asking every {} ms)", opened.status().message(), poll_ms);
          }
        }
      }
    }
    int64_t now = rv::MonotonicMs();
    bool fetch = now >= next_fetch;
    if (sub) {
      items.clear();
      sub->AppendPollItems(&items);
      try {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(fetch ? 0 : 50));
      } catch (const zmq::error_t&) {  // EINTR: a signal
        if (rv::stop_signal::Requested()) break;
      }
      sub->HandleReady(items.data(), rv::MonotonicMs(), [&](const rv::Result<rv::msg::Change>& c) {
        if (!c.ok() || c->event.kind != rv::event_kind::kEdgeChanged) return;
        fetch = true;
        if (noticed == 0) {
          noticed = rv::MonotonicMs();
          noticed_wall = c->event.ts_ms;
        }
      });
    } else if (!fetch) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (fetch && rpc) {
      next_fetch = rv::MonotonicMs() + poll_ms;
      rv::msg::EdgeRoutes next;
      rv::Status s = rv::Status::Ok();
      try {
        s = rpc->Call(rv::msg::EdgeRoutesRequest{}, &next, std::chrono::milliseconds(2000));
      } catch (const zmq::error_t& e) {  // EINTR: a signal (SIGTERM) came during the call
        if (rv::stop_signal::Requested()) break;
        s = rv::Status::Unavailable(e.what());
      }
      if (s.ok()) {
        warned = false;
        if (next.version != routes.version || next.routes.size() != routes.routes.size()) pending = true;
        routes = std::move(next);
        if (!pending) noticed = 0;  // a notice that changed nothing
      } else {
        if (!warned) spdlog::warn("edge.routes: {} (keeping the last routes)", s.message());
        warned = true;
        next_fetch = rv::MonotonicMs() + std::min<int64_t>(poll_ms, 1000);  // sauron back: soon
      }
    }
    now = rv::MonotonicMs();
    // Also restarts haproxy if it died.
    if ((pending && now >= next_retry) || !hp.Running()) {
      if (apply()) {
        pending = false;
        if (noticed != 0) {
          spdlog::info("edge: routes version {} live {} ms after sauron's notice arrived ({} ms after it was sent)",
                       routes.version, rv::MonotonicMs() - noticed, rv::WallMs() - noticed_wall);
          noticed = 0;
        }
      } else {
        next_retry = now + kRetryMs;
      }
    }
  }
  spdlog::info("rv-edge: stopping haproxy (pid {})", hp.master_pid());
  hp.Stop();
  return 0;
}
