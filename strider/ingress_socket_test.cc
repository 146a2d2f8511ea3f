#include "strider/ingress_socket.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "common/transport/test_ports.h"
#include "strider/proxy_test_haproxy.h"

namespace rv::strider {
namespace {

// A child process holding, at its fd 3, what `make` returns (as HAProxy holds
// the ingress socket); killed by the destructor.
class Holder {
 public:
  template <typename Make>
  explicit Holder(Make make) {
    int ready[2];
    if (pipe(ready) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      int fd = make();
      if (fd < 0 || dup2(fd, 3) != 3) _exit(1);
      (void)!write(ready[1], "x", 1);
      for (;;) pause();
    }
    close(ready[1]);
    char x;
    ok_ = read(ready[0], &x, 1) == 1;
    close(ready[0]);
  }
  ~Holder() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  bool ok() const { return ok_; }

 private:
  pid_t pid_ = -1;
  bool ok_ = false;
};

TEST(TakeListeningSocket, TakesTheSocketAnotherProcessListensOnAndAcceptsOnIt) {
  int port = transport::ReserveTestPort();
  Holder h([port] { return proxytest::ListenLoopback(port); });
  ASSERT_TRUE(h.ok());
  auto fd = TakeListeningSocket(h.pid(), 3, "127.0.0.1", port);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  // The same socket: a connection to the port is accepted on our copy.
  int c = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  pollfd p{*fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  int in = accept(*fd, nullptr, nullptr);
  EXPECT_GE(in, 0);
  close(in);
  close(c);
  close(*fd);
  // Any address matches "".
  auto any = TakeListeningSocket(h.pid(), 3, "", port);
  ASSERT_TRUE(any.ok());
  close(*any);
}

TEST(TakeListeningSocket, RefusesAnotherPortAnotherAddressOrSomethingElseThanAListener) {
  int port = transport::ReserveTestPort();
  Holder listener([port] { return proxytest::ListenLoopback(port); });
  ASSERT_TRUE(listener.ok());
  EXPECT_FALSE(TakeListeningSocket(listener.pid(), 3, "127.0.0.1", port + 1).ok());
  EXPECT_FALSE(TakeListeningSocket(listener.pid(), 3, "10.0.0.1", port).ok());
  EXPECT_EQ(TakeListeningSocket(listener.pid(), 99, "127.0.0.1", port).status().code(), Status::Code::kNotFound);

  Holder pipe_holder([] {
    int p[2];
    return pipe(p) == 0 ? p[0] : -1;
  });
  ASSERT_TRUE(pipe_holder.ok());
  auto r = TakeListeningSocket(pipe_holder.pid(), 3, "127.0.0.1", port);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a listening socket"), std::string::npos) << r.status().message();

  Holder unbound([] { return socket(AF_INET, SOCK_STREAM, 0); });
  ASSERT_TRUE(unbound.ok());
  EXPECT_FALSE(TakeListeningSocket(unbound.pid(), 3, "", port).ok());
}

TEST(TakeListeningSocket, NoSuchProcessIsNotFound) {
  pid_t gone = fork();
  if (gone == 0) _exit(0);
  waitpid(gone, nullptr, 0);
  EXPECT_EQ(TakeListeningSocket(gone, 3, "", 1234).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace rv::strider
