// LogServer: this host's side of `rv logs` through sauron (common/msg/logs.h).
// It subscribes to to/<host>/log.wanted; for each want it reads the job's log
// here (ReadLogChunk) and delivers the chunk to sauron (host.log_chunk), which
// hands it to the reader. The same for `rv run`'s input, the other way
// (common/msg/job_input.h): to/<host>/input.wanted, each chunk written into
// the console job's stdin (ConsoleInputs), the outcome delivered as a chunk
// without data.
//
// Contract: its own thread, SUB socket and DEALER (CURVE, this host's key), so
// neither a busy agent loop nor a slow disk delays the other. Sauron sends a
// want only for a job it placed on this host; a want that does not decode or
// is for another host is ignored. A lost want (PUB drop, reconnect)
// costs the reader one timed-out step, which it retries. A refused CURVE
// handshake is retried after a backoff (transport::ChangeSubscriber). Start
// once; the destructor stops and joins.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <string>
#include <thread>

#include "common/transport/keys.h"
#include "strider/container/console_input.h"

namespace rv::strider {

struct LogServerOptions {
  std::string host_id;
  std::string sauron_api, sauron_pub;
  transport::CurveKeypair key;
  std::string sauron_public_key;
  std::string data_dir;             // plain processes' logs (host_layout)
  std::string container_state_dir;  // containers' console logs
  container::ConsoleInputs* inputs = nullptr;  // console jobs' stdin; null: no containers here
};

class LogServer {
 public:
  LogServer(zmq::context_t& ctx, LogServerOptions o) : ctx_(ctx), o_(std::move(o)) {}
  ~LogServer();
  void Start();

 private:
  void Loop();

  zmq::context_t& ctx_;
  LogServerOptions o_;
  std::thread th_;
  std::atomic<bool> stop_{false};
};

}  // namespace rv::strider
