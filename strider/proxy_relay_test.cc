#include "strider/proxy_relay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/transport/test_ports.h"

namespace rv::strider {
namespace {

int Listen(int port, const char* ip = "127.0.0.1") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  listen(fd, 16);
  return fd;
}

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char b[4096];
  ssize_t n;
  while ((n = read(fd, b, sizeof b)) > 0) out.append(b, n);
  return out;
}

TEST(IngressRelay, RelaysBothWaysWithHalfCloseAndRefusesBeforeATarget) {
  int p0 = transport::ReserveTestPorts(2);
  ASSERT_GT(p0, 0);
  int ports[2] = {p0, p0 + 1};
  int back = Listen(ports[1]);
  auto relay = IngressRelay::Open("127.0.0.1", ports[0], "127.0.0.1");
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();

  // No target yet: the connection is closed at once.
  int early = Connect(ports[0]);
  ASSERT_GE(early, 0);
  EXPECT_EQ(ReadAll(early), "");
  close(early);

  (*relay)->SetTarget("127.0.0.1", ports[1]);
  std::thread server([back] {
    int c = accept(back, nullptr, nullptr);
    std::string got = ReadAll(c);  // until the client's half-close
    std::string big(300000, 'x');
    std::string reply = "echo:" + got + big;
    size_t off = 0;
    while (off < reply.size()) {
      ssize_t n = write(c, reply.data() + off, reply.size() - off);
      if (n <= 0) break;
      off += n;
    }
    close(c);
  });
  int c = Connect(ports[0]);
  ASSERT_GE(c, 0);
  ASSERT_EQ(write(c, "PROXY hello", 11), 11);
  shutdown(c, SHUT_WR);
  std::string got = ReadAll(c);
  close(c);
  server.join();
  EXPECT_EQ(got.substr(0, 16), "echo:PROXY hello");
  EXPECT_EQ(got.size(), 16u + 300000u);
  EXPECT_EQ((*relay)->accepted(), 2);
  for (int i = 0; i < 100 && (*relay)->active() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ((*relay)->active(), 0);
  close(back);
}

// Answers one connection with `tag` and closes it.
std::thread ServeOnce(int fd, std::string tag) {
  return std::thread([fd, tag] {
    int c = accept(fd, nullptr, nullptr);
    if (c < 0) return;
    (void)!write(c, tag.data(), tag.size());
    close(c);
  });
}

TEST(IngressRelay, GoesToAFallbackWhenTheLocalTargetIsDownOrRefuses) {
  int p0 = transport::ReserveTestPorts(3);
  ASSERT_GT(p0, 0);
  int peer = Listen(p0 + 1, "127.0.0.2");
  auto relay = IngressRelay::Open("127.0.0.1", p0, "127.0.0.1");
  ASSERT_TRUE(relay.ok());
  (*relay)->SetTarget("127.0.0.1", p0 + 2);  // nothing listens: refused
  (*relay)->SetFallbacks({"127.0.0.2:" + std::to_string(p0 + 1), "garbage", "1.2.3.4:99999"});
  auto t = ServeOnce(peer, "peer");
  int c = Connect(p0);
  EXPECT_EQ(ReadAll(c), "peer");
  close(c);
  t.join();

  // Down: straight to the fallback, the local target is not even tried.
  int local = Listen(p0 + 2);
  (*relay)->SetLocalUp(false);
  auto t2 = ServeOnce(peer, "peer again");
  c = Connect(p0);
  EXPECT_EQ(ReadAll(c), "peer again");
  close(c);
  t2.join();
  EXPECT_EQ((*relay)->fell_back(), 2);

  // Up again: the local target.
  (*relay)->SetLocalUp(true);
  auto t3 = ServeOnce(local, "local");
  c = Connect(p0);
  EXPECT_EQ(ReadAll(c), "local");
  close(c);
  t3.join();
  close(local);
  close(peer);
}

// Reads what the client sent (up to `want` bytes), then closes or answers.
std::thread Swallow(int fd, size_t want, std::string answer) {
  return std::thread([fd, want, answer] {
    int c = accept(fd, nullptr, nullptr);
    if (c < 0) return;
    std::string got;
    char b[256];
    while (got.size() < want) {
      ssize_t n = read(c, b, sizeof b);
      if (n <= 0) break;
      got.append(b, n);
    }
    if (!answer.empty()) {
      std::string reply = answer + got;
      (void)!write(c, reply.data(), reply.size());
    }
    close(c);
  });
}

TEST(IngressRelay, ReplaysTheClientsBytesToTheNextProxyWhenOneDiesBeforeItsFirstByte) {
  int p0 = transport::ReserveTestPorts(3);
  ASSERT_GT(p0, 0);
  int local = Listen(p0 + 2);
  int peer = Listen(p0 + 1, "127.0.0.2");
  auto relay = IngressRelay::Open("127.0.0.1", p0, "127.0.0.1");
  ASSERT_TRUE(relay.ok());
  (*relay)->SetTarget("127.0.0.1", p0 + 2);
  (*relay)->SetFallbacks({"127.0.0.2:" + std::to_string(p0 + 1)});
  // The local proxy takes the PROXY header and the hello, then vanishes
  // without a byte (kill -9 before its ServerHello): the peer gets the same bytes.
  auto dies = Swallow(local, 11, "");
  auto answers = Swallow(peer, 11, "peer got:");
  int c = Connect(p0);
  ASSERT_GE(c, 0);
  ASSERT_EQ(write(c, "PROXY hello", 11), 11);
  EXPECT_EQ(ReadAll(c), "peer got:PROXY hello");
  close(c);
  dies.join();
  answers.join();
  EXPECT_EQ((*relay)->fell_back(), 1);

  // Once the proxy has answered, its session is its own: no replay, the
  // client sees the connection end.
  auto half = Swallow(local, 5, "half:");
  c = Connect(p0);
  ASSERT_GE(c, 0);
  ASSERT_EQ(write(c, "first", 5), 5);
  EXPECT_EQ(ReadAll(c), "half:first");
  close(c);
  half.join();
  EXPECT_EQ((*relay)->fell_back(), 1);
  close(local);
  close(peer);
}

TEST(IngressRelay, NeverPassesOnAConnectionFromAFallbacksHost) {
  int p0 = transport::ReserveTestPorts(2);
  ASSERT_GT(p0, 0);
  int peer = Listen(p0 + 1);
  auto relay = IngressRelay::Open("127.0.0.1", p0, "127.0.0.1");
  ASSERT_TRUE(relay.ok());
  (*relay)->SetLocalUp(false);
  (*relay)->SetFallbacks({"127.0.0.1:" + std::to_string(p0 + 1)});  // the client's own address
  int c = Connect(p0);
  EXPECT_EQ(ReadAll(c), "");
  close(c);
  EXPECT_EQ((*relay)->fell_back(), 0);
  close(peer);
}

// Socket activation: the container (here the test, accepting from a dup of
// the relay's listener) takes every connection while it is up; while it is
// down the relay takes what queued and what comes, and sends it on.
TEST(IngressRelay, LeavesTheListenerToAContainerThatAcceptsItselfWhileItIsUp) {
  int p0 = transport::ReserveTestPorts(2);
  ASSERT_GT(p0, 0);
  int peer = Listen(p0 + 1, "127.0.0.2");
  auto relay = IngressRelay::Open("127.0.0.1", p0, "127.0.0.1");
  ASSERT_TRUE(relay.ok());
  int container = dup((*relay)->listen_fd());
  (*relay)->SetFallbacks({"127.0.0.2:" + std::to_string(p0 + 1)});
  (*relay)->SetLocalAccepts(true);
  (*relay)->SetLocalUp(true);
  for (int i = 0; i < 3; ++i) {
    int c = Connect(p0);
    ASSERT_GE(c, 0);
    pollfd pf{container, POLLIN, 0};
    ASSERT_EQ(poll(&pf, 1, 5000), 1);
    int in = accept(container, nullptr, nullptr);
    ASSERT_GE(in, 0) << "the relay took connection " << i;
    (void)!write(in, "container", 9);
    close(in);
    EXPECT_EQ(ReadAll(c), "container");
    close(c);
  }
  EXPECT_EQ((*relay)->accepted(), 0);

  // Down, and nowhere to send a connection yet (no peers known): it waits in
  // the backlog instead of being closed, and the container gets it.
  (*relay)->SetFallbacks({});
  (*relay)->SetLocalUp(false);
  int waiting = Connect(p0);
  ASSERT_GE(waiting, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ((*relay)->accepted(), 0);
  {
    pollfd pf{container, POLLIN, 0};
    ASSERT_EQ(poll(&pf, 1, 5000), 1);
    int in = accept(container, nullptr, nullptr);
    ASSERT_GE(in, 0);
    (void)!write(in, "container", 9);
    close(in);
    EXPECT_EQ(ReadAll(waiting), "container");
    close(waiting);
  }
  (*relay)->SetFallbacks({"127.0.0.2:" + std::to_string(p0 + 1)});
  (*relay)->SetLocalUp(true);

  // The container goes down with a connection queued: the relay takes it.
  int queued = Connect(p0);
  ASSERT_GE(queued, 0);
  auto t = ServeOnce(peer, "peer");
  (*relay)->SetLocalUp(false);
  EXPECT_EQ(ReadAll(queued), "peer");
  close(queued);
  t.join();
  EXPECT_EQ((*relay)->accepted(), 1);
  EXPECT_EQ((*relay)->fell_back(), 1);
  close(container);
  close(peer);
}

TEST(IngressRelay, TakesOverAListeningSocketAndRefusesAnythingElse) {
  int port = transport::ReserveTestPort();
  int l = Listen(port);
  auto relay = IngressRelay::FromSocket(l, "127.0.0.1");
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  EXPECT_EQ((*relay)->port(), port);
  EXPECT_EQ((*relay)->listen_fd(), l);
  int unbound = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_FALSE(IngressRelay::FromSocket(unbound).ok());
  EXPECT_FALSE(IngressRelay::FromSocket(-1).ok());
}

TEST(IngressRelay, RefusesAPortInUse) {
  int ports[1] = {transport::ReserveTestPort()};
  int taken = Listen(ports[0]);
  auto relay = IngressRelay::Open("127.0.0.1", ports[0]);
  EXPECT_FALSE(relay.ok());
  close(taken);
}

}  // namespace
}  // namespace rv::strider
