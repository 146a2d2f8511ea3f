// IngressRelay: the way into an environment proxy from the underlay. It
// listens on this host's underlay address at the proxy's ingress port and
// relays each TCP connection, byte for byte, to the proxy container's overlay
// address at the same port, connecting from the gateway address 169.254.1.1
// (docs/PROXY.md "Environment proxy", "Ingress").
//
// Why a relay and not DNAT: the container's replies must leave by the path
// its host opened. A connection the host opens from 169.254.1.1 is answered to
// 169.254.1.1, which the container's veth gateway filter accepts as
// ESTABLISHED (docs/OVERLAY.md "Isolation"); nothing else of the container
// reaches the underlay, and its env's routing table stays `unreachable
// default`. Only what the edge sent crosses the underlay: the PROXY header and
// TLS records; the relay never decrypts.
//
// Socket activation (the usual way now): the same listening socket is also
// the proxy container's fd 3 (HAProxy `bind fd@3`), so HAProxy accepts the
// edge's connections itself, one hop and one copy less, and they live on
// through a strider restart. SetLocalAccepts(true) says so: while the local
// container is up the relay leaves the listener alone; while it is down (a
// crash, a restart's backoff) the relay accepts what queued and sends it to
// the env's other proxies, as before, once it knows them (until then the
// connections wait in the backlog: the container may be just starting). The accepted socket belongs to the
// host's netns: the container answers the edge on it and can open nothing
// there.
//
// Contract:
//  * Open binds the listener at once (an error if the port is taken);
//    FromSocket takes over a listening socket (ownership passes).
//  * SetTarget may be called any time (the proxy's address can change when it
//    is re-made); connections accepted before a target is known are refused
//    (closed), existing ones keep their target.
//  * Fallbacks: when the local target is down (SetLocalUp(false)) or refuses,
//    a connection goes to the first fallback endpoint that accepts (the env's
//    other proxy replicas' ingress on the underlay: still only ciphertext).
//    A connection that itself comes from a fallback's host is never passed
//    on again (no loops between two hosts whose containers are both down).
//  * At most max_conns connections at once; more are closed on accept.
//  * The destructor closes the listener and every connection, and returns
//    only when every relay thread is gone.
//  * Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace rv::strider {

class IngressRelay {
 public:
  struct Shared;
  static Result<std::unique_ptr<IngressRelay>> Open(const std::string& listen_addr, int port,
                                                    std::string source_addr = "169.254.1.1", int max_conns = 4096);
  // A listening TCP socket (e.g. one taken back from a running proxy with
  // pidfd_getfd after a strider restart); closed on error too.
  static Result<std::unique_ptr<IngressRelay>> FromSocket(int listen_fd, std::string source_addr = "169.254.1.1",
                                                          int max_conns = 4096);
  ~IngressRelay();
  IngressRelay(const IngressRelay&) = delete;
  IngressRelay& operator=(const IngressRelay&) = delete;

  void SetTarget(const std::string& addr, int port);
  // Whether the local target runs (false: skip it, go to the fallbacks).
  void SetLocalUp(bool up);
  // Whether the local container accepts from this listener itself (it has it
  // as fd 3): then the relay accepts only while the container is down.
  void SetLocalAccepts(bool accepts);
  // The listener, for the container (the caller dups it; the relay owns it).
  int listen_fd() const;
  // "IPv4:PORT" endpoints; malformed ones are ignored.
  void SetFallbacks(const std::vector<std::string>& endpoints);
  int64_t fell_back() const;
  int port() const;
  int64_t accepted() const;
  int active() const;

 private:
  explicit IngressRelay(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
  std::shared_ptr<Shared> s_;
};

}  // namespace rv::strider
