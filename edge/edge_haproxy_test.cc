// The edge alone: HAProxy with a config from RenderHaproxyConfig, run by
// HaproxyProcess, in front of two fake environment proxies on loopback (TLS
// servers that first read a PROXY v2 header). Shows SNI routing to the right
// proxy, the client's address passed on, refusals, the 404 page, and a reload
// on a route change that keeps an established connection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/testing/loopback.h"
#include "common/transport/test_ports.h"
#include "edge/haproxy_config.h"
#include "edge/haproxy_process.h"
#include "sauron/pod_ca.h"

namespace rv::edge {
namespace {

using namespace std::chrono_literals;

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int LocalPort(int fd) {
  sockaddr_in a{};
  socklen_t n = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  return ntohs(a.sin_port);
}

SSL_CTX* ServerCtx(const sauron::IssuedCert& c) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  BIO* b = BIO_new_mem_buf(c.cert_pem.data(), static_cast<int>(c.cert_pem.size()));
  X509* leaf = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) SSL_CTX_add_extra_chain_cert(ctx, x);
  ERR_clear_error();
  BIO_free(b);
  BIO* kb = BIO_new_mem_buf(c.key_pem.data(), static_cast<int>(c.key_pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  SSL_CTX_use_PrivateKey(ctx, k);
  EVP_PKEY_free(k);
  BIO_free(kb);
  return ctx;
}

// A stand-in for an environment's proxy: PROXY v2 header, then TLS with the
// certificate of the SNI's name; answers each request with its own label.
class FakeProxy {
 public:
  FakeProxy(std::string label, int port, std::map<std::string, sauron::IssuedCert> certs) : label_(std::move(label)) {
    for (auto& [name, c] : certs) ctxs_[name] = ServerCtx(c);
    SSL_CTX_set_tlsext_servername_callback(ctxs_.begin()->second, &FakeProxy::OnSni);
    SSL_CTX_set_tlsext_servername_arg(ctxs_.begin()->second, this);
    fd_ = rv::testing::ListenLoopback(port);
    if (fd_ >= 0) thread_ = std::thread([this] { Serve(); });
  }
  ~FakeProxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& t : conns_) t.join();
    if (fd_ >= 0) close(fd_);
    for (auto& [n, c] : ctxs_) SSL_CTX_free(c);
  }
  bool ok() const { return fd_ >= 0; }
  // The client addresses received in PROXY v2 headers, "IP:PORT".
  std::vector<std::string> sources() {
    std::lock_guard<std::mutex> l(mu_);
    return sources_;
  }

 private:
  static int OnSni(SSL* ssl, int*, void* arg) {
    auto* self = static_cast<FakeProxy*>(arg);
    const char* n = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    auto it = n ? self->ctxs_.find(n) : self->ctxs_.end();
    if (it == self->ctxs_.end()) return SSL_TLSEXT_ERR_ALERT_FATAL;
    SSL_set_SSL_CTX(ssl, it->second);
    return SSL_TLSEXT_ERR_OK;
  }
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      conns_.emplace_back([this, c] { Handle(c); });
    }
  }
  bool ReadFull(int fd, unsigned char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      ssize_t r = read(fd, buf + got, n - got);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  void Handle(int fd) {
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    unsigned char h[16];
    static const unsigned char kSig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    // Health checks connect without a header and close: nothing to do.
    if (!ReadFull(fd, h, 16) || memcmp(h, kSig, 12) != 0 || h[12] != 0x21) {
      close(fd);
      return;
    }
    size_t len = (h[14] << 8) | h[15];
    std::vector<unsigned char> addr(len);
    if (len < 12 || !ReadFull(fd, addr.data(), len) || h[13] != 0x11) {
      close(fd);
      return;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, addr.data(), ip, sizeof ip);
    int sport = (addr[8] << 8) | addr[9];
    {
      std::lock_guard<std::mutex> l(mu_);
      sources_.push_back(std::string(ip) + ":" + std::to_string(sport));
    }
    // Then blocking TLS; idle waits poll, so a quiet connection stays up.
    timeval none{0, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    SSL* ssl = SSL_new(ctxs_.begin()->second);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::string req;
      char buf[2048];
      while (!stop_) {
        pollfd p{fd, POLLIN, 0};
        if (SSL_pending(ssl) == 0 && poll(&p, 1, 100) == 0) continue;
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        size_t end;
        while ((end = req.find("\r\n\r\n")) != std::string::npos) {
          req.erase(0, end + 4);
          std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(label_.size()) + "\r\n\r\n" + label_;
          SSL_write(ssl, resp.data(), static_cast<int>(resp.size()));
        }
      }
    }
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
  }

  std::string label_;
  std::map<std::string, SSL_CTX*> ctxs_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> conns_;
  std::mutex mu_;
  std::vector<std::string> sources_;
};

// A TLS client verifying the pod CA and the name.
class TlsClient {
 public:
  TlsClient(int port, const std::string& sni, const std::string& ca_pem) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    BIO* b = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    BIO_free(b);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    fd_ = Connect(port);
    if (fd_ < 0) return;
    local_port_ = LocalPort(fd_);
    ssl_ = SSL_new(ctx_);
    if (!sni.empty()) {
      SSL_set_tlsext_host_name(ssl_, sni.c_str());
      SSL_set1_host(ssl_, sni.c_str());
    }
    SSL_set_fd(ssl_, fd_);
    connected_ = SSL_connect(ssl_) == 1;
    ERR_clear_error();
  }
  ~TlsClient() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool connected() const { return connected_; }
  int local_port() const { return local_port_; }
  // One request on this connection; the response's body or "" on failure.
  std::string Get() {
    if (!connected_) return "";
    std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0) return "";
    std::string resp;
    char buf[2048];
    while (true) {
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return "";
      resp.append(buf, static_cast<size_t>(n));
      auto h = resp.find("\r\n\r\n");
      auto cl = resp.find("Content-Length: ");
      if (h != std::string::npos && cl != std::string::npos) {
        size_t len = std::stoul(resp.substr(cl + 16));
        if (resp.size() >= h + 4 + len) return resp.substr(h + 4, len);
      }
    }
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  int local_port_ = 0;
  bool connected_ = false;
};

std::string PlainRequest(int port, const std::string& text) {
  int fd = Connect(port);
  if (fd < 0) return "";
  (void)!write(fd, text.data(), text.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// Polls `cond` every 50 ms for up to `limit`.
template <typename F>
bool WaitFor(F cond, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

class EdgeHaproxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // writes to connections the edge refused
    ASSERT_EQ(access("/usr/sbin/haproxy", X_OK), 0) << "haproxy is not installed (scripts/install-deps installs it)";
    int64_t now = WallMs();
    ca_ = std::move(*sauron::PodCa::Generate("edge test CA", now));
    auto issue = [&](const char* n) { return *ca_->Issue(n, now); };
    int base = transport::ReserveTestPorts(4);
    ASSERT_GT(base, 0);
    opts_.listen = "127.0.0.1";
    opts_.http_port = base;
    opts_.https_port = base + 1;
    opts_.public_https_port = base + 1;
    opts_.hard_stop_after_s = 30;
    port_a_ = base + 2;
    port_b_ = base + 3;
    a_ = std::make_unique<FakeProxy>("proxy-A", port_a_,
                                     std::map<std::string, sauron::IssuedCert>{{"a.example.test", issue("a.example.test")},
                                                                               {"c.example.test", issue("c.example.test")}});
    b_ = std::make_unique<FakeProxy>("proxy-B", port_b_,
                                     std::map<std::string, sauron::IssuedCert>{{"b.example.test", issue("b.example.test")}});
    ASSERT_TRUE(a_->ok() && b_->ok());
    dir_ = std::filesystem::temp_directory_path() /
           ("rv-edge-" + std::to_string(getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    hp_ = std::make_unique<HaproxyProcess>(dir_.string());
    routes_.version = 1;
    routes_.routes = {{"a.example.test", "t/a"}, {"b.example.test", "t/b"}};
    routes_.proxies = {{"t/a", {"127.0.0.1:" + std::to_string(port_a_)}},
                       {"t/b", {"127.0.0.1:" + std::to_string(port_b_)}}};
    ASSERT_TRUE(Apply().ok());
    ASSERT_TRUE(WaitFor([&] { return hp_->WorkersReady(); })) << "haproxy did not start";
    ASSERT_TRUE(WaitFor([&] { return TlsClient(opts_.https_port, "a.example.test", ca_->cert_pem()).connected(); }));
  }
  void TearDown() override {
    hp_.reset();
    a_.reset();
    b_.reset();
    std::filesystem::remove_all(dir_);
  }
  RenderedConfig Render() {
    opts_.names_map = hp_->names_map_path();
    return RenderHaproxyConfig(opts_, routes_);
  }
  Status Apply() {
    auto c = Render();
    return hp_->Apply(c.text, c.names_map);
  }
  std::string Read(const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  }

  std::unique_ptr<sauron::PodCa> ca_;
  EdgeOptions opts_;
  int port_a_ = 0, port_b_ = 0;
  std::unique_ptr<FakeProxy> a_, b_;
  std::filesystem::path dir_;
  std::unique_ptr<HaproxyProcess> hp_;
  msg::EdgeRoutes routes_;
};

TEST_F(EdgeHaproxyTest, RoutesBySniToTheEnvsProxyWithTheClientAddressInProxyV2) {
  TlsClient ca(opts_.https_port, "a.example.test", ca_->cert_pem());
  ASSERT_TRUE(ca.connected());
  EXPECT_EQ(ca.Get(), "proxy-A");
  TlsClient cb(opts_.https_port, "b.example.test", ca_->cert_pem());
  ASSERT_TRUE(cb.connected());
  EXPECT_EQ(cb.Get(), "proxy-B");
  // The proxies saw the clients' own addresses, not the edge's.
  auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  EXPECT_TRUE(has(a_->sources(), "127.0.0.1:" + std::to_string(ca.local_port())));
  EXPECT_TRUE(has(b_->sources(), "127.0.0.1:" + std::to_string(cb.local_port())));
  EXPECT_FALSE(has(a_->sources(), "127.0.0.1:" + std::to_string(cb.local_port())));
}

TEST_F(EdgeHaproxyTest, UnknownOrMissingSniAndPlainTextAreRefused) {
  EXPECT_FALSE(TlsClient(opts_.https_port, "unknown.example.test", ca_->cert_pem()).connected());
  EXPECT_FALSE(TlsClient(opts_.https_port, "", ca_->cert_pem()).connected());
  EXPECT_EQ(PlainRequest(opts_.https_port, "GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n"), "");
  // The names still work after those.
  EXPECT_EQ(TlsClient(opts_.https_port, "a.example.test", ca_->cert_pem()).Get(), "proxy-A");
}

TEST_F(EdgeHaproxyTest, HttpGives404ForUnknownNamesAndRedirectsKnownOnesToHttps) {
  std::string r = PlainRequest(opts_.http_port, "GET /x HTTP/1.1\r\nHost: nobody.example.test\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 404", 0), 0u) << r;
  EXPECT_NE(r.find("No app answers at this name"), std::string::npos) << r;
  r = PlainRequest(opts_.http_port, "GET /p?q=1 HTTP/1.1\r\nHost: A.example.test:80\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 301", 0), 0u) << r;
  EXPECT_NE(r.find("location: https://a.example.test:" + std::to_string(opts_.https_port) + "/p?q=1\r\n"),
            std::string::npos)
      << r;
}

TEST_F(EdgeHaproxyTest, AReloadOnARouteChangeKeepsEstablishedConnections) {
  TlsClient held(opts_.https_port, "a.example.test", ca_->cert_pem());
  ASSERT_TRUE(held.connected());
  ASSERT_EQ(held.Get(), "proxy-A");
  EXPECT_FALSE(TlsClient(opts_.https_port, "c.example.test", ca_->cert_pem()).connected());
  pid_t master = hp_->master_pid();

  // c is added, a is taken away: new connections follow the new routes...
  // The envs stay, so only the names map changes, not the config.
  std::string before = Render().text;
  routes_.routes = {{"b.example.test", "t/b"}, {"c.example.test", "t/a"}};
  ASSERT_EQ(Render().text, before);
  routes_.version = 2;
  int64_t t0 = MonotonicMs();
  ASSERT_TRUE(Apply().ok());
  ASSERT_TRUE(WaitFor([&] { return TlsClient(opts_.https_port, "c.example.test", ca_->cert_pem()).connected(); }));
  int64_t applied_ms = MonotonicMs() - t0;
  EXPECT_TRUE(WaitFor([&] { return hp_->WorkersReady(); }));
  EXPECT_EQ(TlsClient(opts_.https_port, "c.example.test", ca_->cert_pem()).Get(), "proxy-A");
  EXPECT_FALSE(TlsClient(opts_.https_port, "a.example.test", ca_->cert_pem()).connected());
  EXPECT_EQ(hp_->master_pid(), master);
  EXPECT_EQ(hp_->reloads(), 1);
  EXPECT_EQ(Read(hp_->names_map_path()), "b.example.test env_t.b\nc.example.test env_t.a\n");
  // ...and the connection made before the reload is still served.
  EXPECT_EQ(held.Get(), "proxy-A");
  EXPECT_EQ(held.Get(), "proxy-A");
  // The same routes again: no reload.
  ASSERT_TRUE(Apply().ok());
  EXPECT_EQ(hp_->reloads(), 1);
  std::printf("config_apply_ms (write + check + reload until a new name answers): %lld\n",
              static_cast<long long>(applied_ms));
}

TEST_F(EdgeHaproxyTest, AChangeRightAfterAStartOrReloadIsNotLost) {
  // A fresh HAProxy, and at once a second config, then a third: each Apply
  // either takes it or says to retry, and the last one ends up served.
  hp_.reset();
  hp_ = std::make_unique<HaproxyProcess>((dir_ / "again").string());
  ASSERT_TRUE(Apply().ok());
  routes_.routes.push_back({"c.example.test", "t/a"});
  ASSERT_TRUE(WaitFor([&] { return Apply().ok(); }, 20s));
  routes_.routes.erase(routes_.routes.begin());  // a.example.test goes
  ASSERT_TRUE(WaitFor([&] { return Apply().ok(); }, 20s));
  EXPECT_TRUE(WaitFor([&] { return TlsClient(opts_.https_port, "c.example.test", ca_->cert_pem()).connected(); }));
  EXPECT_TRUE(WaitFor([&] { return !TlsClient(opts_.https_port, "a.example.test", ca_->cert_pem()).connected(); }));
  EXPECT_EQ(TlsClient(opts_.https_port, "c.example.test", ca_->cert_pem()).Get(), "proxy-A");
}

TEST_F(EdgeHaproxyTest, AConfigHaproxyRefusesIsNeverInstalled) {
  std::string map = Read(hp_->names_map_path());
  ASSERT_EQ(map, "a.example.test env_t.a\nb.example.test env_t.b\n");
  Status s = hp_->Apply("global\n  no-such-directive 1\n", "evil.example.test env_t.a\n");
  EXPECT_EQ(s.code(), Status::Code::kInvalid);
  // Neither the config nor its map is installed: a restart would load the old pair.
  EXPECT_EQ(Read(hp_->names_map_path()), map);
  EXPECT_EQ(Read(hp_->config_path()), Render().text);
  EXPECT_TRUE(hp_->Running());
  EXPECT_EQ(hp_->reloads(), 0);
  EXPECT_EQ(TlsClient(opts_.https_port, "a.example.test", ca_->cert_pem()).Get(), "proxy-A");
}

TEST_F(EdgeHaproxyTest, HaproxyIsRestartedIfItDies) {
  pid_t first = hp_->master_pid();
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !hp_->Running(); }));
  // The workers of a killed master exit on their own (master-worker mode);
  // until they did the ports may still be taken, so retry briefly.
  ASSERT_TRUE(WaitFor([&] {
    (void)Apply();
    return hp_->Running() && TlsClient(opts_.https_port, "b.example.test", ca_->cert_pem()).connected();
  }, 20s));
  EXPECT_NE(hp_->master_pid(), first);
}

}  // namespace
}  // namespace rv::edge
