// Socket set-up shared by every daemon: CURVE server/client roles, ZMTP
// heartbeats, and sane limits. A CURVE server socket only completes handshakes
// that the context's ZAP handler (zap.h) approves.
#pragma once

#include <zmq.hpp>

#include <string>

#include "common/transport/keys.h"

namespace rv::transport {

void MakeCurveServer(zmq::socket_t& socket, const CurveKeypair& mine);
void MakeCurveClient(zmq::socket_t& socket, const CurveKeypair& mine, const std::string& server_public_key);

// ZMTP-level PING/PONG, handled by libzmq's I/O thread: a peer silent for
// `timeout_ms` is disconnected (and a monitor sees DISCONNECTED).
void SetHeartbeat(zmq::socket_t& socket, int interval_ms, int timeout_ms);

// Common options: no linger on close, bounded queues, reconnect backoff.
void SetDefaults(zmq::socket_t& socket);

// A context sized for many sockets (the auction benchmark runs a thousand
// simulated hosts in one process).
zmq::context_t MakeContext(int io_threads = 1, int max_sockets = 16384);

}  // namespace rv::transport
