// ChangeSubscriber: one subscription to sauron's change stream (its CURVE
// PUB, sauron/change_stream.h): a SUB socket, as a CURVE client, subscribed
// to the caller's topics (common/msg/topics.h), that hands each change it
// receives to the caller.
//
// Contract:
//  * A refused CURVE handshake (sauron does not know this key yet) is never
//    retried by libzmq, so the subscriber watches its socket's monitor and,
//    after a refusal, makes a new socket and subscribes again once the
//    backoff (ResubscribeBackoff: first_backoff_ms, doubling, up to
//    max_backoff_ms) has run out; it says so in one warning line. Nothing
//    else re-makes the socket: each new subscriber costs sauron a walk of its
//    subscription trie.
//  * A message is [topic][body]; the body, decoded as a msg::Change, goes to
//    the handler; a malformed one goes as an error (the caller counts or
//    ignores it). A lone frame is skipped. The subscriber stays usable.
//  * Time is passed in (now_ms, monotonic, > 0): the owner's clock drives the
//    backoff, so a test can too.
//  * No thread of its own: the owner polls its kPollItems sockets
//    (AppendPollItems before every poll, since Tick may re-make the socket),
//    then calls HandleReady and Tick. Not thread-safe: one owner thread.
//  * When re-making the socket fails (Tick, ResubscribeNowIfRefused return
//    the error), the subscriber has no socket left: the owner drops it.
#pragma once

#include <zmq.hpp>

#include <atomic>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/msg/protocol.h"
#include "common/status.h"
#include "common/transport/keys.h"
#include "common/transport/monitor.h"
#include "common/transport/resubscribe_backoff.h"

namespace rv::transport {

struct ChangeSubscriberOptions {
  std::string endpoint;            // sauron's PUB, e.g. "tcp://10.0.0.1:7401"
  CurveKeypair key;                // this client's
  std::string server_public_key;   // sauron's
  std::vector<std::string> topics; // topic prefixes; at least one
  std::string name = "change stream";  // who subscribes, in the log: "[h1] proxy notices"
  int64_t first_backoff_ms = 500;
  int64_t max_backoff_ms = 5000;
  // A message received proves the handshake went through, so the next
  // refusal waits first_backoff_ms again. False: only ResubscribeNowIfRefused
  // resets it (the agent: at sauron's welcome).
  bool message_resets_backoff = true;
  int max_per_round = 256;         // messages per HandleReady: the owner's other sockets get a turn
};

class ChangeSubscriber {
 public:
  // A change, or why a message was not one.
  using Handler = std::function<void(const Result<msg::Change>&)>;
  static constexpr size_t kPollItems = 2;

  // Makes the socket, subscribes and connects (the handshake follows in the
  // background). Error: a bad endpoint or key, no topics, no sockets left.
  static Result<std::unique_ptr<ChangeSubscriber>> Open(zmq::context_t& ctx, ChangeSubscriberOptions o);
  ~ChangeSubscriber();
  ChangeSubscriber(const ChangeSubscriber&) = delete;
  ChangeSubscriber& operator=(const ChangeSubscriber&) = delete;

  // Appends kPollItems items (the SUB, its monitor); after zmq::poll pass a
  // pointer to the first of them to HandleReady.
  void AppendPollItems(std::vector<zmq::pollitem_t>* items);
  // Notes refusals (schedules a resubscription) and hands up to
  // max_per_round received messages to `on_change`, which must not destroy
  // or re-make this subscriber.
  void HandleReady(const zmq::pollitem_t* items, int64_t now_ms, const Handler& on_change);
  // Subscribes again if a refusal's backoff has run out. True: the socket
  // was re-made (poll items changed).
  Result<bool> Tick(int64_t now_ms);
  // Subscribes again at once, and resets the backoff, if a refusal is
  // waiting out its backoff (the owner knows sauron accepts the key now).
  // True: the socket was re-made.
  Result<bool> ResubscribeNowIfRefused();

  // For an owner whose only socket this is (a thread of its own): polls,
  // hands changes to `on_change` and Ticks until `stop` is true (looked at
  // every poll_ms, on the monotonic clock). Returns Tick's error when
  // re-making the socket failed (the subscriber is then unusable), else Ok.
  Status RunUntil(const std::atomic<bool>& stop, const Handler& on_change, int poll_ms = 100);

  // When Tick will subscribe again; 0: no refusal is waiting.
  int64_t resubscribe_at() const { return backoff_.due_at(); }
  // Refusals acted on (each scheduled one resubscription) so far.
  int64_t refused() const { return refused_; }
  const std::string& endpoint() const { return o_.endpoint; }
  // The server key the next re-made socket uses (rv-edge reads sauron's
  // key afresh before each resubscription).
  void set_server_public_key(const std::string& key) { o_.server_public_key = key; }

 private:
  ChangeSubscriber(zmq::context_t& ctx, ChangeSubscriberOptions o);
  Status Connect();
  Result<bool> Resubscribe();
  void DrainMonitor(int64_t now_ms);

  zmq::context_t& ctx_;
  ChangeSubscriberOptions o_;
  ResubscribeBackoff backoff_;
  int64_t refused_ = 0;
  std::unique_ptr<zmq::socket_t> sub_;
  // Declared after sub_ so it is destroyed first (it watches that socket).
  std::unique_ptr<ConnectionMonitor> monitor_;
};

}  // namespace rv::transport
