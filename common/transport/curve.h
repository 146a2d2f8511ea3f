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
// `timeout_ms` is disconnected (and a monitor sees DISCONNECTED). Our PINGs
// carry no TTL: a TTL makes the peer arm (and, on its next message, cancel)
// a timer per PING, and libzmq cancels timers with a linear walk over all of
// them, which at a thousand connections was most of sauron's idle CPU. Each
// side judges the other by its own settings.
void SetHeartbeat(zmq::socket_t& socket, int interval_ms, int timeout_ms);

// Half-open TCP connections found by the kernel (keepalive probes after
// `idle_s` of silence, every idle_s / 3, given up after 3), at no cost to
// libzmq's I/O thread: for servers whose peers prove liveness otherwise.
void SetTcpKeepalive(zmq::socket_t& socket, int idle_s);

// Common options: no linger on close, bounded queues, reconnect backoff.
void SetDefaults(zmq::socket_t& socket);

// One message part without waiting: false if none is queued or the socket
// failed (a poll loop just looks again next round).
bool TryRecv(zmq::socket_t& socket, zmq::message_t* m);

// A context sized for many sockets (the auction benchmark runs a thousand
// simulated hosts in one process).
zmq::context_t MakeContext(int io_threads = 1, int max_sockets = 16384);

}  // namespace rv::transport
