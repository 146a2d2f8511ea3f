#include "strider/overlay_driver.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <vector>

#include <nlohmann/json.hpp>

#include "common/event_kinds.h"
#include "common/clock.h"
#include "common/msg/topics.h"
#include "common/transport/change_subscriber.h"
#include "common/transport/rpc_client.h"
#include "overlay/addr.h"
#include "overlay/control_socket.h"
#include "overlay/keyring.h"
#include "overlay/plumbing.h"
#include "strider/container/container_runtime.h"
#include "strider/container/netns_generation.h"

namespace rv::strider {

using nlohmann::json;

std::string BuildControlDocument(const msg::OverlayView& view, const std::string& listen_address, int underlay_mtu,
                                 const std::map<std::string, LocalAttachment>& locals,
                                 std::set<std::string>* attached) {
  json j;
  j["host_id"] = view.host_num;
  j["listen"] = listen_address + ":" + std::to_string(view.port);
  j["underlay_mtu"] = underlay_mtu;
  j["pod_cidr"] = view.pod_cidr;
  j["hosts"] = json::array();
  std::map<std::string, uint32_t> num_of;
  for (const auto& h : view.hosts) {
    // overlayd refuses a whole config with one bad endpoint, and a JSON writer
    // throws on bytes that are not UTF-8: a peer whose address is not IP:PORT
    // (sauron checks; one stored before it did) is left out like one without
    // an address, and so are its routes.
    uint32_t addr = 0;
    uint16_t port = 0;
    if (!overlay::ParseEndpoint(h.endpoint, &addr, &port).ok()) continue;
    num_of[h.host_id] = h.num;
    j["hosts"].push_back({{"id", h.num}, {"endpoint", h.endpoint}});
  }
  num_of[view.host_id] = view.host_num;
  j["gateway_ports"] = view.gateway_ports;
  j["envs"] = json::array();
  for (const auto& e : view.envs) {
    json je;
    je["id"] = e.num;
    je["subnet"] = e.subnet;
    je["aead"] = e.aead;
    je["send_epoch"] = e.send_epoch;
    je["keys"] = json::array();
    for (const auto& k : e.keys) {
      json jk = {{"epoch", k.epoch}, {"sealed", overlay::ToHex(k.sealed)}};
      if (!k.aead.empty()) jk["aead"] = k.aead;  // epochs differ while a rotation switches AEAD
      je["keys"].push_back(std::move(jk));
    }
    je["routes"] = json::array();
    je["attachments"] = json::array();
    for (const auto& r : e.routes) {
      auto n = num_of.find(r.host_id);
      if (n == num_of.end()) continue;  // a host without an underlay address yet
      if (r.host_id != view.host_id) {
        je["routes"].push_back({{"addr", r.addr}, {"host", n->second}});
        continue;
      }
      auto l = locals.find(container::ContainerIdFor(r.job_id));
      if (l == locals.end() || l->second.env != e.env) continue;  // not (yet) running here
      auto a = overlay::ParseAddr(r.addr);
      if (!a.ok()) continue;
      // The generation is in the name so a re-made netns is plumbed afresh.
      char veth[16];
      snprintf(veth, sizeof veth, "ov%08x%04x", *a, static_cast<unsigned>(l->second.generation & 0xffff));
      je["attachments"].push_back({{"addr", r.addr}, {"veth", veth}, {"netns", l->second.netns}, {"ifname", "eth0"}});
      if (attached) attached->insert(l->first);
    }
    j["envs"].push_back(std::move(je));
  }
  return j.dump();
}

OverlayDriver::OverlayDriver(zmq::context_t& ctx, OverlayDriverOptions opts) : ctx_(ctx), opts_(std::move(opts)) {}

OverlayDriver::~OverlayDriver() {
  stop_ = true;
  cv_.notify_all();
  if (th_.joinable()) th_.join();
  if (keepalive_th_.joinable()) keepalive_th_.join();
}

void OverlayDriver::Start() {
  th_ = std::thread([this] { Loop(); });
  if (opts_.keepalive_ms > 0 && !opts_.overlayd_socket.empty())
    keepalive_th_ = std::thread([this] { KeepaliveLoop(); });
}

void OverlayDriver::KeepaliveLoop() {
  // Its own thread: a slow sauron (the main loop waits up to 3 s on it) must
  // not starve overlayd's lease.
  while (!stop_) {
    auto r = overlay::ControlRequest(opts_.overlayd_socket, "keepalive", "", 2000);
    if (r.ok()) {
      auto j = json::parse(*r, nullptr, false);
      if (!j.is_discarded() && j.is_object() && !j.value("held", true)) {
        std::lock_guard<std::mutex> l(mu_);
        if (!last_doc_.empty()) {
          spdlog::warn("[{}] overlay: overlayd holds no state (restarted, or its lease ran out): applying again",
                       opts_.host_id);
          reapply_ = true;
          wake_ = true;
          cv_.notify_all();
        }
      }
    }
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(opts_.keepalive_ms), [&] { return stop_.load(); });
  }
}

// The container's netns generation (NetnsInfo::generation, kept in its adopt
// record) names its veth: a restarted strider names an adopted container's
// veth as the one before did, so overlayd keeps its plumbing instead of
// re-making it (a counter of ours restarted with the strider, and every
// adopted container lost its network for a moment). Unknown (outside
// 1..65535, which the runtime never hands out): a fresh number.
int64_t OverlayDriver::NetnsGeneration(const container::NetnsInfo& ns) {
  return container::IsNetnsGeneration(ns.generation) ? ns.generation : ++generation_;
}

Status OverlayDriver::Attach(const container::NetnsInfo& ns, const std::string& job_env) {
  if (job_env.empty()) return Status::Ok();  // no environment: keep the runtime's veth
  // overlayd makes the container's eth0 itself; the runtime's default pair
  // would give a second path out of the env.
  if (!ns.host_if.empty()) {
    Status s = overlay::RunCmd({"ip", "-n", ns.name, "link", "del", "eth0"});
    if (!s.ok()) return Status::Internal("overlay: cannot remove the default veth: " + s.message());
  }
  // sauron's routes name the container, not its netns (whose name also
  // carries this strider's run dir, so two striders on a machine never clash).
  const std::string key = ns.container_id.empty() ? ns.name : ns.container_id;
  std::unique_lock<std::mutex> l(mu_);
  LocalAttachment a{key, job_env, ns.path, NetnsGeneration(ns)};
  locals_[key] = a;
  attached_.erase(key);
  wake_ = true;
  cv_.notify_all();
  bool ok = cv_.wait_for(l, std::chrono::milliseconds(opts_.attach_timeout_ms), [&] {
    auto it = locals_.find(key);
    return stop_.load() || (attached_.count(key) && it != locals_.end() && it->second.generation == a.generation);
  });
  if (!ok || stop_) {
    locals_.erase(key);
    return Status::Unavailable("overlay: no address for " + key + " in env " + job_env + " within " +
                               std::to_string(opts_.attach_timeout_ms) + " ms" +
                               (attach_error_.empty() ? "" : " (" + attach_error_ + ")"));
  }
  spdlog::info("[{}] overlay: {} attached to env {}", opts_.host_id, key, job_env);
  return Status::Ok();
}

void OverlayDriver::Expect(const container::NetnsInfo& ns, const std::string& job_env) {
  if (job_env.empty()) return;
  const std::string key = ns.container_id.empty() ? ns.name : ns.container_id;
  std::lock_guard<std::mutex> l(mu_);
  locals_[key] = LocalAttachment{key, job_env, ns.path, NetnsGeneration(ns)};
}

void OverlayDriver::Reconcile() {
  // Called with mu_ held.
  for (auto it = locals_.begin(); it != locals_.end();) {
    if (access(it->second.netns.c_str(), F_OK) != 0) {
      it = locals_.erase(it);  // the container and its netns are gone
    } else {
      ++it;
    }
  }
  std::set<std::string> attached;
  std::string doc = BuildControlDocument(view_, opts_.address, opts_.underlay_mtu, locals_, &attached);
  bool reapply = reapply_;
  reapply_ = false;
  if (doc == last_doc_ && !reapply) {
    attached_ = attached;
    return;
  }
  auto r = overlay::ControlRequest(opts_.overlayd_socket, "apply", doc, 10000);
  std::string err;
  if (!r.ok()) {
    err = r.status().message();
  } else {
    auto j = json::parse(*r, nullptr, false);
    if (j.is_discarded() || !j.value("ok", false)) err = j.is_discarded() ? "bad reply" : j.value("error", "refused");
  }
  if (!err.empty()) {
    attach_error_ = "overlayd apply: " + err;
    spdlog::warn("[{}] overlay: {}", opts_.host_id, attach_error_);
    last_doc_.clear();  // retry at the next round
    return;
  }
  attach_error_.clear();
  last_doc_ = doc;
  attached_ = attached;
  ++applied_;
  if (reapply) ++reapplied_;
  spdlog::info("[{}] overlay: applied view v{} ({} envs, {} local containers)", opts_.host_id, view_.version,
               view_.envs.size(), attached.size());
}

void OverlayDriver::Loop() {
  std::unique_ptr<transport::ChangeSubscriber> sub;
  std::unique_ptr<transport::RpcClient> rpc;
  if (!opts_.sauron_pub.empty()) {
    transport::ChangeSubscriberOptions so;
    so.endpoint = opts_.sauron_pub;
    so.key = opts_.key;
    so.server_public_key = opts_.sauron_public_key;
    so.topics = {msg::HostTopic(opts_.host_id, event_kind::kOverlayChanged)};
    so.name = "[" + opts_.host_id + "] overlay";
    auto opened = transport::ChangeSubscriber::Open(ctx_, std::move(so));
    if (!opened.ok()) {
      spdlog::error("[{}] overlay: cannot connect to sauron: {}", opts_.host_id, opened.status().message());
      return;
    }
    sub = std::move(*opened);
  }
  try {
    rpc = std::make_unique<transport::RpcClient>(ctx_, opts_.sauron_api, opts_.key, opts_.sauron_public_key);
  } catch (const zmq::error_t& e) {
    spdlog::error("[{}] overlay: cannot connect to sauron: {}", opts_.host_id, e.what());
    return;
  }
  std::vector<zmq::pollitem_t> items;
  int64_t next_fetch = 0;
  while (!stop_) {
    bool fetch = MonotonicMs() >= next_fetch;
    if (sub) {
      if (auto t = sub->Tick(MonotonicMs()); !t.ok()) {
        spdlog::warn("[{}] overlay: {} (reading the view every {} ms)", opts_.host_id, t.status().message(),
                     opts_.refresh_ms);
        sub.reset();
      }
    }
    if (sub) {
      items.clear();
      sub->AppendPollItems(&items);
      try {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(fetch ? 0 : 50));
      } catch (const zmq::error_t&) {
      }
      sub->HandleReady(items.data(), MonotonicMs(), [&](const Result<msg::Change>& c) {
        if (!c.ok()) return;
        // detail: comma-separated host ids whose view changed.
        std::string d = "," + c->event.detail + ",";
        if (d.find("," + opts_.host_id + ",") != std::string::npos) fetch = true;
      });
    } else if (!fetch) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      if (wake_) fetch = true;
      wake_ = false;
    }
    if (!fetch) continue;
    next_fetch = MonotonicMs() + opts_.refresh_ms;
    msg::OverlayView v;
    Status s = rpc->Call(msg::OverlayViewRequest{opts_.host_id}, &v, std::chrono::milliseconds(3000));
    std::lock_guard<std::mutex> l(mu_);
    if (!s.ok()) {
      spdlog::warn("[{}] overlay: cannot read the view from sauron: {}", opts_.host_id, s.message());
      attach_error_ = "sauron: " + s.message();
      if (s.code() == Status::Code::kUnavailable) {
        // No answer: maybe sauron refused our CURVE handshake (the host's key
        // was not enrolled yet), which libzmq never retries. A fresh socket
        // makes a fresh handshake (the "lazy pirate" of the zguide).
        try {
          rpc = std::make_unique<transport::RpcClient>(ctx_, opts_.sauron_api, opts_.key, opts_.sauron_public_key);
        } catch (const zmq::error_t& e) {
          spdlog::warn("[{}] overlay: cannot make a new socket to sauron: {}", opts_.host_id, e.what());
        }
      }
    } else {
      view_ = std::move(v);
      have_view_ = true;
    }
    if (!have_view_) {
      next_fetch = MonotonicMs() + 100;
      cv_.notify_all();
      continue;
    }
    Reconcile();
    // A container still waiting for its address: ask again soon.
    for (const auto& [id, _] : locals_) {
      if (!attached_.count(id)) {
        next_fetch = std::min(next_fetch, MonotonicMs() + 100);
        break;
      }
    }
    cv_.notify_all();
  }
}

}  // namespace rv::strider
