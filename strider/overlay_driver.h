// OverlayDriver: a strider's side of the encrypted overlay. It keeps
// this host's overlayd in step with sauron. Contract:
//
//  * Source of truth is sauron's per-host view (host.overlay, see
//    common/msg/overlay.h), fetched at start, whenever the change stream
//    carries "overlay.changed" naming this host, every refresh_ms as a safety
//    net, and whenever a container waits for its address. A subscription
//    sauron refused (it did not know this host's key yet) subscribes again
//    after a backoff of 0.5-5 s (transport::ChangeSubscriber).
//  * From the view and the local containers' network namespaces it builds
//    overlayd's control document (overlay/control.h: hosts, envs, sealed keys,
//    routes, attachments) and pushes it with the control socket's `apply`
//    only when it differs from the last one applied. Keys stay sealed to this
//    host in the document; overlayd opens them with the host key.
//  * Attach() is the container runtime's NetworkHook: it removes the
//    runtime's default veth, then waits (bounded) until sauron has given the
//    container an address and overlayd has plumbed it (veth `eth0` inside the
//    netns with the address /32, default via 169.254.1.1; anti-spoofing and
//    env isolation on the host side, see overlay/plumbing.h).
//  * An environment no container of this host runs any more is left out of
//    the document, so overlayd wipes its keys; an attachment whose netns is
//    gone or whose job sauron no longer places here is dropped.
//  * Lease: a second thread sends overlayd a "keepalive" every keepalive_ms
//    (overlay/lease.h), so overlayd wipes its keys if this strider dies; a
//    reply "held": false (overlayd restarted, or its lease ran out while this
//    strider was stuck) makes the driver apply its document again at once.
//    keepalive_ms must stay well under overlayd's --lease-ms (5000).
//  * Thread-safe: Attach() is called from container threads; one thread of
//    its own talks to sauron and overlayd, another sends keepalives.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/msg/overlay.h"
#include "common/status.h"
#include "common/transport/keys.h"
#include "strider/container/netns.h"

namespace rv::strider {

struct OverlayDriverOptions {
  std::string host_id;
  std::string address;              // this host's underlay address (overlayd listens here)
  transport::CurveKeypair key;
  std::string sauron_api, sauron_pub, sauron_public_key;
  std::string overlayd_socket;      // overlayd's control socket
  int underlay_mtu = 1500;
  int refresh_ms = 2000;
  int keepalive_ms = 1000;          // 0 = no keepalives (overlayd run with --lease-ms 0)
  int attach_timeout_ms = 15000;
};

// One local container as overlayd must see it.
struct LocalAttachment {
  std::string container_id;
  std::string env;
  std::string netns;                // path
  int64_t generation = 0;           // changes when the container's netns is re-made
};

// The control document for `view` (pure; unit-tested). Attachments are
// matched to the view's local routes by container id (ContainerIdFor(job)).
// `attached` receives the container ids that got an attachment.
std::string BuildControlDocument(const msg::OverlayView& view, const std::string& listen_address, int underlay_mtu,
                                 const std::map<std::string, LocalAttachment>& locals,
                                 std::set<std::string>* attached);

class OverlayDriver {
 public:
  OverlayDriver(zmq::context_t& ctx, OverlayDriverOptions opts);
  ~OverlayDriver();
  void Start();

  // NetworkHook (see strider/container/netns.h).
  Status Attach(const container::NetnsInfo& ns, const std::string& job_env);
  // Live restore: a container adopted from an earlier strider is already
  // plumbed; registering it (without waiting) before Start keeps the first
  // document applied from dropping its attachment (docs/SCEPTRE.md).
  void Expect(const container::NetnsInfo& ns, const std::string& job_env);

  int64_t applied() const { return applied_.load(); }
  int64_t reapplied_after_wipe() const { return reapplied_.load(); }

 private:
  void Loop();
  void KeepaliveLoop();
  void Reconcile();
  int64_t NetnsGeneration(const container::NetnsInfo& ns);  // called with mu_ held

  zmq::context_t& ctx_;
  OverlayDriverOptions opts_;
  std::thread th_, keepalive_th_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> applied_{0};
  std::atomic<int64_t> reapplied_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, LocalAttachment> locals_;   // container id -> netns
  std::set<std::string> attached_;                  // plumbed by the last apply
  std::string attach_error_;                        // last apply error, for waiting hooks
  bool wake_ = false;                               // a hook wants a fetch now
  bool reapply_ = false;                            // overlayd holds nothing: apply even if unchanged
  int64_t generation_ = 0;
  std::string last_doc_;
  msg::OverlayView view_;
  // No document goes to overlayd before sauron's view was read once: an empty
  // one would make overlayd drop every environment this host still runs
  // (a restarted strider whose first request fails).
  bool have_view_ = false;
};

}  // namespace rv::strider
