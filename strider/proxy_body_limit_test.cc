#include "strider/proxy_body_limit.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include "common/proxy_job.h"
#include "common/transport/test_ports.h"
#include "strider/proxy_config.h"
#include "strider/proxy_test_haproxy.h"

namespace rv::strider {
namespace {

namespace fs = std::filesystem;

ProxyConfigInput Limited(int64_t body) {
  ProxyConfigInput in;
  in.port = 20443;
  in.sites = {{"web1.prod.acme.pod.test", "acme/prod/web1", "/run/proxy/certs/0.pem"},
              {"api.prod.acme.pod.test", "acme/prod/api", "/run/proxy/certs/1.pem"}};
  in.limits["acme/prod/web1"] = {0, body};
  return in;
}

std::string Section(const std::string& cfg, const std::string& backend) {
  size_t b = cfg.find("backend " + backend + "\n");
  if (b == std::string::npos) return "";
  return cfg.substr(b, cfg.find("\n\n", b) - b);
}

// Loaded and in every app's second backend whether it has a limit or not: a
// limit set later is a map entry (the runtime API), not a new backend.
TEST(ProxyBodyLimit, TheFilterIsAlwaysThereAndOnlyNamesWithALimitAreRoutedThroughIt) {
  auto f = RenderProxyConfig(Limited(100000));
  EXPECT_NE(f.haproxy_cfg.find("  lua-load /run/proxy/body_limit.lua\n"), std::string::npos);
  for (const auto& app : {"acme/prod/web1", "acme/prod/api"}) {
    std::string body = Section(f.haproxy_cfg, BodyBackendNameFor(app)) + "\n";  // (the section ends before its "\n")
    EXPECT_NE(body.find("  filter lua.rv-body-limit\n"), std::string::npos) << body;
    EXPECT_EQ(Section(f.haproxy_cfg, BackendNameFor(app)).find("filter"), std::string::npos);
  }
  EXPECT_EQ(f.body_map, "web1.prod.acme.pod.test 100000\n");
  EXPECT_EQ(f.body_limit_lua, ProxyBodyLimitLua());
  // The filter reads the limit the frontend took from the map.
  EXPECT_NE(f.body_limit_lua.find("txn:get_var(\"txn.rv_body\")"), std::string::npos);

  auto none = RenderProxyConfig(Limited(0));
  EXPECT_EQ(none.body_map, "");
  EXPECT_EQ(none.haproxy_cfg, f.haproxy_cfg);
}

// An app server on loopback: answers each request once it has its whole body
// (Content-Length, or chunked up to the last chunk) with "200 got N", and
// keeps the most body bytes it ever received on one request.
class App {
 public:
  explicit App(int port) {
    fd_ = proxytest::ListenLoopback(port);
    ok_ = fd_ >= 0;
    t_ = std::thread([this] { Loop(); });
  }
  ~App() {
    stop_ = true;
    t_.join();
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }
  size_t most() const { return most_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) Serve(c);
    }
  }
  // One request per connection (HAProxy's checks and requests alike).
  void Serve(int c) {
    std::string in;
    char buf[65536];
    size_t head = std::string::npos;
    bool done = false;
    while (!done && !stop_) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      if (head == std::string::npos) head = in.find("\r\n\r\n");
      if (head == std::string::npos) continue;
      std::string h = in.substr(0, head);
      std::transform(h.begin(), h.end(), h.begin(), ::tolower);
      size_t body = in.size() - head - 4;
      most_ = std::max<size_t>(most_, body);
      if (h.find("transfer-encoding: chunked") != std::string::npos) {
        // The last chunk ends the body: "0\r\n\r\n" right after the header
        // section or after a chunk's data (a header line ending in "0", as
        // the request id may, is not one).
        std::string_view b(in);
        b.remove_prefix(head + 4);
        done = b == "0\r\n\r\n" || (b.size() > 7 && b.substr(b.size() - 7) == "\r\n0\r\n\r\n");
      } else {
        size_t cl = h.find("content-length:");
        done = cl == std::string::npos || body >= std::stoul(h.substr(cl + 15));
      }
    }
    if (done) {
      std::string b = "got " + std::to_string(in.size() - head - 4) + "\n";
      std::string r = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(b.size()) +
                      "\r\nConnection: close\r\n\r\n" + b;
      (void)!write(c, r.data(), r.size());
    }
    close(c);
  }
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> most_{0};
  std::thread t_;
};

using proxytest::Output;

// The rendered configuration in Debian's HAProxy, TLS and the PROXY header in
// front (curl as the edge and the client at once), the app behind.
TEST(ProxyBodyLimit, HaproxyRefusesABodyWithoutALengthOverTheLimitAtAnySizeAndPassesOneUnder) {
  ASSERT_EQ(proxytest::MissingTools(), "") << "missing: scripts/install-deps installs them";
  proxytest::Scratch scratch("bodylimit");
  const fs::path& dir = scratch.dir();
  const std::string& pem = scratch.pem();
  ASSERT_FALSE(pem.empty()) << "openssl could not make a certificate";
  int ports = transport::ReserveTestPorts(2);
  ASSERT_NE(ports, 0);
  App app(ports + 1);
  ASSERT_TRUE(app.ok());

  const int64_t kLimit = 100000;  // far over HAProxy's 16 KB buffer
  auto in = Limited(kLimit);
  in.port = ports;
  in.check_inter_ms = 60000;  // one server, no check traffic in the way
  in.servers["acme/prod/web1"] = {{"acme.prod.web1.web.v1.0.x", "127.0.0.1", ports + 1}};
  proxytest::WriteRendered(dir, in, pem);
  {
    std::ofstream big(dir / "big");
    big << std::string(1 << 20, 'x');  // 1 MB
    std::ofstream under(dir / "under");
    under << std::string(60000, 'y');  // over a buffer, under the limit
  }

  proxytest::Haproxy haproxy(dir, {"-db"});
  ASSERT_TRUE(haproxy.started());
  const std::string url = "https://web1.prod.acme.pod.test:" + std::to_string(ports) + "/";
  const std::string curl = "curl -sk --max-time 20 --haproxy-protocol --resolve web1.prod.acme.pod.test:" +
                           std::to_string(ports) + ":127.0.0.1 -o /dev/null -w '%{http_code}' ";
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = Output(curl + url) == "200";
    if (!up) usleep(50000);
  }
  ASSERT_TRUE(up) << "haproxy did not answer; see " << dir / "haproxy.log";

  const std::string d = dir.string();
  // A client that waits (100-continue) is refused on its headers.
  EXPECT_EQ(Output(curl + "--http1.1 -H 'Expect: 100-continue' --data-binary @" + d + "/big " + url), "413");
  // One sending its body (chunked, HTTP/2 with or without a length, HTTP/1
  // with a length) is read to the end and answered 413; the app never gets
  // more than the limit. HAProxy has no lingering close, so now and then
  // (about 1 in 10 under load) the client reads a reset instead: never an
  // answer from the app.
  int refused = 0, reset = 0;
  for (int i = 0; i < 3; ++i) {
    for (const char* how : {"--http1.1 -H 'Transfer-Encoding: chunked'", "--http2 -H 'Content-Length:'", "--http2",
                            "--http1.1 -H 'Expect:'"}) {
      std::string code = Output(curl + how + " --data-binary @" + d + "/big " + url);
      EXPECT_TRUE(code == "413" || code == "000")
          << how << ": " << code << "\n" << Output("tail -n 4 " + d + "/haproxy.log") << "\napp most " << app.most();
      (code == "413" ? refused : reset)++;
    }
  }
  EXPECT_GE(refused, 9) << refused << " answered 413, " << reset << " reset";
  EXPECT_LE(app.most(), static_cast<size_t>(kLimit) + 1024)
      << "the app got more than the limit of a body (and its chunk framing)";
  EXPECT_EQ(Output(curl + "--http1.1 -H 'Transfer-Encoding: chunked' --data-binary @" + d + "/under " + url), "200");
  EXPECT_EQ(Output(curl + "--http2 -H 'Content-Length:' --data-binary @" + d + "/under " + url), "200");
  // The app answered the whole body: the filter forwarded every byte under the limit.
  EXPECT_EQ(Output("curl -sk --max-time 20 --haproxy-protocol --resolve web1.prod.acme.pod.test:" + std::to_string(ports) +
                ":127.0.0.1 --http1.1 --data-binary @" + d + "/under " + url),
            "got 60000");
  // A bodyless HTTP/1 request skips the filter's backend (HAProxy starts Lua
  // for every request it filters); an HTTP/2 one cannot be told bodyless.
  EXPECT_EQ(Output(curl + "--http1.1 " + url), "200");
  EXPECT_EQ(Output(curl + "--http2 " + url), "200");
  usleep(100000);
  std::string h1_line = Output("tail -n 2 " + d + "/haproxy.log | head -n 1");
  std::string h2_line = Output("tail -n 1 " + d + "/haproxy.log");
  EXPECT_NE(h1_line.find(" " + BackendNameFor("acme/prod/web1") + "/"), std::string::npos) << h1_line;
  EXPECT_NE(h2_line.find(" " + BodyBackendNameFor("acme/prod/web1") + "/"), std::string::npos) << h2_line;
}

}  // namespace
}  // namespace rv::strider
