// sauron_fake_host: a minimal host for tests and benchmarks of sauron's
// liveness. Connects to sauron's API with a CURVE key, says hello naming its
// connection, prints "ready" once welcomed, then sends a heartbeat every
// heartbeat_ms until killed (or for at most --seconds).
//   sauron_fake_host ENDPOINT SERVER_PUBLIC_KEY KEY_FILE HOST_ID [HEARTBEAT_MS] [SECONDS]
#include <cstdio>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/msg/envelope.h"
#include "common/msg/protocol.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "common/transport/monitor.h"

using namespace rv;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s ENDPOINT SERVER_KEY KEY_FILE HOST_ID [HEARTBEAT_MS] [SECONDS]\n", argv[0]);
    return 2;
  }
  std::string endpoint = argv[1], server = argv[2], key_file = argv[3], id = argv[4];
  int hb_ms = argc > 5 ? std::atoi(argv[5]) : 100;
  int seconds = argc > 6 ? std::atoi(argv[6]) : 60;
  auto kp = transport::LoadKeypair(key_file);
  if (!kp.ok()) {
    std::fprintf(stderr, "%s\n", kp.status().message().c_str());
    return 1;
  }
  zmq::context_t ctx;
  zmq::socket_t sock(ctx, zmq::socket_type::dealer);
  transport::SetDefaults(sock);
  transport::MakeCurveClient(sock, *kp, server);
  transport::ConnectionMonitor mon(ctx, sock);
  sock.connect(endpoint);
  std::string local;
  for (int64_t end = MonotonicMs() + 5000; local.empty() && MonotonicMs() < end;) {
    zmq::pollitem_t item{mon.socket().handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(20));
    while (auto ev = mon.Next()) {
      if (ev->kind == transport::ConnEvent::kConnected) local = ev->local;
    }
  }
  msg::HostHello hello;
  hello.host_id = id;
  hello.address = "127.0.0.1";
  hello.conn_endpoint = local;
  std::string req = msg::Encode(hello, 1);
  sock.send(zmq::buffer(req), zmq::send_flags::none);
  bool welcomed = false;
  for (int64_t end = MonotonicMs() + 5000; !welcomed && MonotonicMs() < end;) {
    zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(20));
    zmq::message_t m;
    if (!(item.revents & ZMQ_POLLIN) || !sock.recv(m, zmq::recv_flags::dontwait)) continue;
    auto env = msg::DecodeEnvelope(m.data(), m.size());
    msg::Reply r;
    if (env.ok() && env->req_id == 1 && msg::DecodeBody(*env, &r).ok()) {
      if (r.code != 0) {
        std::fprintf(stderr, "hello refused: %s\n", r.error.c_str());
        return 1;
      }
      welcomed = true;
    }
  }
  if (!welcomed) return 1;
  std::printf("ready\n");
  std::fflush(stdout);
  for (int64_t end = MonotonicMs() + seconds * 1000LL; MonotonicMs() < end;) {
    msg::Heartbeat hb;
    hb.host_id = id;
    std::string bytes = msg::Encode(hb);
    sock.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    std::this_thread::sleep_for(std::chrono::milliseconds(hb_ms));
    zmq::message_t drop;
    while (sock.recv(drop, zmq::recv_flags::dontwait)) {
    }
  }
  return 0;
}
