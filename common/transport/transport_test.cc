#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "common/msg/protocol.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "common/transport/monitor.h"
#include "common/transport/rpc_client.h"
#include "common/transport/zap.h"

namespace rv::transport {
namespace {

TEST(Keys, SaveLoadAndReject) {
  auto dir = std::filesystem::temp_directory_path() / ("rv-keys-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto kp = GenerateKeypair();
  ASSERT_TRUE(SaveKeypair((dir / "a.key").string(), kp).ok());
  auto loaded = LoadKeypair((dir / "a.key").string());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->secret_key, kp.secret_key);
  auto pub = LoadPublicKey((dir / "a.key.pub").string());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, kp.public_key);
  EXPECT_EQ(std::filesystem::status(dir / "a.key").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  std::ofstream(dir / "bad.key") << "public=nope\nsecret=nope\n";
  EXPECT_FALSE(LoadKeypair((dir / "bad.key").string()).ok());
  EXPECT_FALSE(LoadKeypair((dir / "missing.key").string()).ok());
  std::filesystem::remove_all(dir);
}

// A tiny CURVE ROUTER echo server: replies to every request with the sender's
// authenticated User-Id as the error text.
class EchoServer {
 public:
  explicit EchoServer(zmq::context_t& ctx) : zap(ctx), router(ctx, zmq::socket_type::router) {
    server = GenerateKeypair();
    SetDefaults(router);
    MakeCurveServer(router, server);
    router.bind("tcp://127.0.0.1:*");
    endpoint = router.get(zmq::sockopt::last_endpoint);
  }
  bool ServeOne(int timeout_ms) {
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
    if (!(item.revents & ZMQ_POLLIN)) return false;
    zmq::message_t id, body;
    (void)router.recv(id);
    (void)router.recv(body);
    std::string user = body.gets("User-Id");
    auto env = msg::DecodeEnvelope(body.data(), body.size());
    std::string reply = EncodeReply(env.ok() ? env->req_id : 0, Status::Ok(),
                                    msg::Encode(msg::StriderHello{user}));
    router.send(id, zmq::send_flags::sndmore);
    router.send(zmq::buffer(reply));
    return true;
  }
  ZapAuthenticator zap;
  zmq::socket_t router;
  CurveKeypair server;
  std::string endpoint;
};

TEST(Transport, EnrolledClientIsServedWithItsUserId) {
  zmq::context_t ctx;
  EchoServer srv(ctx);
  auto client = GenerateKeypair();
  srv.zap.Allow(client.public_key, "h1");
  RpcClient rpc(ctx, srv.endpoint, client, srv.server.public_key);
  std::thread t([&] { srv.ServeOne(3000); });
  msg::StriderHello out;
  Status s = rpc.Call(msg::StriderHello{"h1"}, &out, std::chrono::milliseconds(3000));
  t.join();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.host_id, "h1");
}

// cppzmq throws on EINTR; a daemon's thread that took a signal while waiting
// for a reply must keep waiting, not end the daemon (std::terminate).
TEST(Transport, ACallInterruptedBySignalsKeepsWaitingForItsReply) {
  struct sigaction sa{}, old{};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: zmq_poll returns EINTR
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  zmq::context_t ctx;
  EchoServer srv(ctx);
  auto client = GenerateKeypair();
  srv.zap.Allow(client.public_key, "h1");
  RpcClient rpc(ctx, srv.endpoint, client, srv.server.public_key);
  pthread_t caller = pthread_self();
  std::thread t([&] {
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      pthread_kill(caller, SIGUSR1);
    }
    srv.ServeOne(3000);
  });
  msg::StriderHello out;
  Status s;
  EXPECT_NO_THROW(s = rpc.Call(msg::StriderHello{"h1"}, &out, std::chrono::milliseconds(3000)));
  t.join();
  sigaction(SIGUSR1, &old, nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.host_id, "h1");
}

TEST(Transport, UnenrolledClientIsRefusedAndCounted) {
  zmq::context_t ctx;
  EchoServer srv(ctx);
  auto stranger = GenerateKeypair();
  RpcClient rpc(ctx, srv.endpoint, stranger, srv.server.public_key);
  std::thread t([&] { EXPECT_FALSE(srv.ServeOne(500)); });
  Status s = rpc.Call(msg::StriderHello{"h1"}, std::chrono::milliseconds(500));
  t.join();
  EXPECT_FALSE(s.ok());
  EXPECT_GE(srv.zap.refused(), 1);
}

// Polls `mon` until an event of `kind` arrives (up to 3 s).
std::optional<ConnEvent> WaitEvent(ConnectionMonitor& mon, ConnEvent::Kind kind) {
  for (int i = 0; i < 300; ++i) {
    zmq::pollitem_t item{mon.socket().handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(10));
    while (auto ev = mon.Next()) {
      if (ev->kind == kind) return ev;
    }
  }
  return std::nullopt;
}

// Whether a connection accepted on 127.0.0.1:`port` is still open on the
// server's side (ESTABLISHED, or CLOSE_WAIT: the peer's FIN read, not closed).
bool ServerSideOpen(int port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  char local[16];
  std::snprintf(local, sizeof local, "0100007F:%04X", port);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, loc, rem, state;
    f >> slot >> loc >> rem >> state;
    if (loc == local && (state == "01" || state == "08")) return true;
  }
  return false;
}

// An enrolled client that made one call, with the server's monitor.
struct MonitoredCall {
  explicit MonitoredCall(zmq::context_t& ctx) : srv(ctx), mon(ctx, srv.router) {
    auto client = GenerateKeypair();
    srv.zap.Allow(client.public_key, "h1");
    rpc = std::make_unique<RpcClient>(ctx, srv.endpoint, client, srv.server.public_key);
    std::thread t([&] { srv.ServeOne(3000); });
    ok = rpc->Call(msg::StriderHello{"h1"}, std::chrono::milliseconds(3000)).ok();
    t.join();
  }
  EchoServer srv;
  ConnectionMonitor mon;
  std::unique_ptr<RpcClient> rpc;
  bool ok = false;
};

TEST(Transport, MonitorSeesKillOfPeerConnection) {
  zmq::context_t ctx;
  MonitoredCall c(ctx);
  ASSERT_TRUE(c.ok);
  // As a daemon's loop would: the accept is read while the connection is up.
  auto accepted = WaitEvent(c.mon, ConnEvent::kAccepted);
  ASSERT_TRUE(accepted);
  EXPECT_NE(accepted->peer.rfind("127.0.0.1:", 0), std::string::npos) << accepted->peer;
  c.rpc.reset();  // closes the TCP connection
  auto gone = WaitEvent(c.mon, ConnEvent::kDisconnected);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->fd, accepted->fd);
  EXPECT_EQ(gone->peer, accepted->peer);
}

TEST(Transport, MonitorGivesNoPeerForAConnectionGoneBeforeItsAcceptIsRead) {
  zmq::context_t ctx;
  MonitoredCall c(ctx);
  ASSERT_TRUE(c.ok);
  c.rpc.reset();
  // Both events queue up unread: libzmq queues the disconnect before it
  // closes the fd, which must then not be asked for its peer (it may be
  // another connection's by now).
  int port = std::stoi(c.srv.endpoint.substr(c.srv.endpoint.rfind(':') + 1));
  for (int i = 0; i < 300 && ServerSideOpen(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_FALSE(ServerSideOpen(port));
  // A second client, whose server-side fd is usually the first one's number.
  auto client = GenerateKeypair();
  c.srv.zap.Allow(client.public_key, "h2");
  RpcClient second(ctx, c.srv.endpoint, client, c.srv.server.public_key);
  std::thread t([&] { c.srv.ServeOne(3000); });
  ASSERT_TRUE(second.Call(msg::StriderHello{"h2"}, std::chrono::milliseconds(3000)).ok());
  t.join();

  auto accepted = WaitEvent(c.mon, ConnEvent::kAccepted);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->peer, "") << "the first connection's accept named a peer";
  auto gone = WaitEvent(c.mon, ConnEvent::kDisconnected);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->fd, accepted->fd);
  EXPECT_EQ(gone->peer, "");
  auto again = WaitEvent(c.mon, ConnEvent::kAccepted);
  ASSERT_TRUE(again);
  EXPECT_NE(again->peer, "");
  std::cerr << "fd " << accepted->fd << " then fd " << again->fd << "\n";
}

}  // namespace
}  // namespace rv::transport
