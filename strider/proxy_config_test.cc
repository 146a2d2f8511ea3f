#include "strider/proxy_config.h"
#include "strider/proxy_runtime.h"
#include "strider/proxy_test_haproxy.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "common/transport/test_ports.h"

namespace rv::strider {
namespace {

ProxyConfigInput Input() {
  ProxyConfigInput in;
  in.port = 20443;
  in.fallback_pem = "/run/proxy/fallback.pem";
  in.sites = {{"web1.prod.acme.pod.test", "acme/prod/web1", "/run/proxy/certs/0.pem"},
              {"www.example.com", "acme/prod/web1", "/run/proxy/certs/1.pem"},
              {"api.prod.acme.pod.test", "acme/prod/api", "/run/proxy/certs/2.pem"}};
  in.servers["acme/prod/web1"] = {{"acme.prod.web1.web.v1.0.x", "10.240.1.3", 8080},
                                  {"acme.prod.web1.web.v1.1.x", "10.240.1.4", 8080}};
  in.limits["acme/prod/web1"] = {20, 1000};
  in.limits["acme/prod/api"] = {0, 0};
  return in;
}

TEST(ProxyConfig, RoutesEveryNameToItsAppsBackend) {
  auto f = RenderProxyConfig(Input());
  const std::string web1 = BackendNameFor("acme/prod/web1");
  EXPECT_NE(f.hosts_map.find("web1.prod.acme.pod.test " + web1 + "\n"), std::string::npos);
  EXPECT_NE(f.hosts_map.find("www.example.com " + web1 + "\n"), std::string::npos);
  EXPECT_NE(f.hosts_map.find("api.prod.acme.pod.test " + BackendNameFor("acme/prod/api")), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("backend " + web1 + "\n"), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find(" 10.240.1.3:8080\n"), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find(" 10.240.1.4:8080\n"), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("default_backend unknown_host"), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("http-request return status 404"), std::string::npos);
  EXPECT_EQ(f.skipped, 0);
}

TEST(ProxyConfig, EndsTlsModernOnlyBehindThePROXYProtocolWithARequestId) {
  auto f = RenderProxyConfig(Input());
  EXPECT_NE(f.haproxy_cfg.find("bind *:20443 accept-proxy ssl crt-list /run/proxy/certs.list alpn h2,http/1.1"),
            std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("ssl-min-ver TLSv1.2"), std::string::npos);
  EXPECT_EQ(f.haproxy_cfg.find("CBC"), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("unique-id-header X-Request-ID"), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("id=%ID"), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("retry-on conn-failure"), std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("option redispatch"), std::string::npos);
  // The fallback certificate comes first: HAProxy's default for unknown SNI.
  EXPECT_EQ(f.crt_list.rfind("/run/proxy/fallback.pem\n", 0), 0u);
  EXPECT_NE(f.crt_list.find("/run/proxy/certs/1.pem [alpn h2,http/1.1] www.example.com\n"), std::string::npos);
}

// The text of one backend section.
std::string Section(const std::string& cfg, const std::string& backend) {
  auto at = cfg.find("\nbackend " + backend + "\n");
  if (at == std::string::npos) return "";
  auto end = cfg.find("\nbackend ", at + 1);
  return cfg.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// bench/ingress: without it a reload (any replica up or down) reset the
// keep-alive connections that sent a request as the old worker closed them.
TEST(ProxyConfig, AlsoAcceptsOnTheHostsIngressSocketWhenOneWasPassed) {
  auto in = Input();
  EXPECT_EQ(RenderProxyConfig(in).haproxy_cfg.find("fd@"), std::string::npos);
  in.ingress_fd = 3;
  auto f = RenderProxyConfig(in);
  EXPECT_NE(f.haproxy_cfg.find("bind fd@3 accept-proxy ssl crt-list /run/proxy/certs.list alpn h2,http/1.1\n"),
            std::string::npos);
  // The container's own port stays: health checks and the relay's fallback path use it.
  EXPECT_NE(f.haproxy_cfg.find("bind *:20443 accept-proxy"), std::string::npos);
}

TEST(ProxyConfig, AnswersARequestOnAnIdleConnectionAtAReloadInsteadOfClosingIt) {
  auto f = RenderProxyConfig(Input());
  EXPECT_NE(f.haproxy_cfg.find("\n  option idle-close-on-response\n"), std::string::npos);
}

TEST(ProxyConfig, LimitsPerAppAndPerClient) {
  auto f = RenderProxyConfig(Input());
  EXPECT_NE(f.haproxy_cfg.find("tcp-request session reject if { sc0_conn_cur gt 100 }"), std::string::npos);
  // The limits are per name, in maps: web1 has both (its two names), api none.
  EXPECT_EQ(f.rate_map, "web1.prod.acme.pod.test 200\nwww.example.com 200\n");  // 20/s over 10 s
  EXPECT_EQ(f.body_map, "web1.prod.acme.pod.test 1000\nwww.example.com 1000\n");
  EXPECT_NE(f.haproxy_cfg.find("set-var(txn.rv_rate) req.hdr(host),field(1,:),lower,map_str_int(/run/proxy/rates.map)\n"),
            std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("set-var(txn.rv_body) req.hdr(host),field(1,:),lower,map_str_int(/run/proxy/bodies.map)\n"),
            std::string::npos);
  // Every backend counts and refuses by the name's rate, when it has one,
  // in its app's first backend's table.
  for (const auto& app : {"acme/prod/web1", "acme/prod/api"}) {
    for (const auto& b : {BackendNameFor(app), BodyBackendNameFor(app)}) {
      std::string sec = Section(f.haproxy_cfg, b);
      ASSERT_FALSE(sec.empty()) << b;
      EXPECT_NE(sec.find("track-sc1 src table " + BackendNameFor(app) + " if { var(txn.rv_rate) -m found }\n"),
                std::string::npos) << sec;
      EXPECT_NE(sec.find("deny_status 429 if { var(txn.rv_rate) -m found } { sc1_http_req_rate,sub(txn.rv_rate) gt 0 }"),
                std::string::npos) << sec;
    }
  }
  // The second backend holds the body to the name's limit.
  std::string body = Section(f.haproxy_cfg, BodyBackendNameFor("acme/prod/web1"));
  EXPECT_NE(body.find("deny_status 413 if { req.hdr_val(content-length),sub(txn.rv_body) gt 0 } "
                      "{ req.hdr(expect) -i 100-continue }"),
            std::string::npos) << body;
  EXPECT_NE(body.find("filter lua.rv-body-limit\n"), std::string::npos);
  EXPECT_EQ(Section(f.haproxy_cfg, BackendNameFor("acme/prod/web1")).find("filter"), std::string::npos);
}

// So `rv config:set ROUTER_*` is a change the runtime API makes in the
// running workers (strider/proxy_runtime.h ProxyMapCommands), no reload.
TEST(ProxyConfig, AChangeOfLimitsChangesOnlyTheMaps) {
  auto before = RenderProxyConfig(Input());
  auto in = Input();
  in.limits["acme/prod/web1"] = {7, 0};
  in.limits["acme/prod/api"] = {0, 5000};
  auto after = RenderProxyConfig(in);
  EXPECT_EQ(after.haproxy_cfg, before.haproxy_cfg);
  EXPECT_EQ(after.crt_list, before.crt_list);
  EXPECT_EQ(after.hosts_map, before.hosts_map);
  EXPECT_EQ(after.rate_map, "web1.prod.acme.pod.test 70\nwww.example.com 70\n");
  EXPECT_EQ(after.body_map, "api.prod.acme.pod.test 5000\n");
  in.limits.clear();
  auto none = RenderProxyConfig(in);
  EXPECT_EQ(none.haproxy_cfg, before.haproxy_cfg);
  EXPECT_EQ(none.rate_map, "");
  EXPECT_EQ(none.body_map, "");
}

TEST(ProxyConfig, OnlyARequestThatMayCarryABodyGoesToTheBodyLimitedBackend) {
  auto f = RenderProxyConfig(Input());
  const std::string body = BodyBackendNameFor("acme/prod/web1");
  // The second backend is the first's name + "_body", which the frontend's
  // use_backend appends to the hosts map's answer.
  EXPECT_EQ(body, BackendNameFor("acme/prod/web1") + "_body");
  EXPECT_NE(f.haproxy_cfg.find("acl body_limited var(txn.rv_body) -m found\n"), std::string::npos);
  // HTTP/2 always (its headers cannot say there is no body); HTTP/1 with a
  // Content-Length or a Transfer-Encoding.
  EXPECT_NE(f.haproxy_cfg.find("use_backend %[req.hdr(host),field(1,:),lower,map(/run/proxy/hosts.map),concat(_body)] "
                               "if body_limited !h1 || body_limited has_length\n"),
            std::string::npos);
  EXPECT_NE(f.haproxy_cfg.find("acl has_length req.hdr_cnt(transfer-encoding) gt 0\n"), std::string::npos);
  // Its replicas are the first backend's, their health checked there once.
  std::string sec = Section(f.haproxy_cfg, body);
  EXPECT_NE(sec.find("10.240.1.3:8080 track " + BackendNameFor("acme/prod/web1") + "/r_"), std::string::npos) << sec;
  // (No server of its own checks: a twin added at runtime is another matter.)
  EXPECT_EQ(sec.find(" check"), std::string::npos) << sec;
}

// leastconn, not roundrobin: HAProxy turns among servers of equal load, so
// every replica is used (pod_proxy: sequential requests reach all three),
// and under load the replica that just answered is woken again rather than
// an idle one (bench/run ingress: +5-14 % req/s).
TEST(ProxyConfig, SpreadsRequestsOverTheReplicasByLeastConnections) {
  auto f = RenderProxyConfig(Input());
  for (const auto& b : {BackendNameFor("acme/prod/web1"), BodyBackendNameFor("acme/prod/web1"),
                        BackendNameFor("acme/prod/api")}) {
    std::string sec = Section(f.haproxy_cfg, b);
    ASSERT_FALSE(sec.empty()) << b;
    EXPECT_NE(sec.find("\n  balance leastconn\n"), std::string::npos) << sec;
  }
  EXPECT_EQ(f.haproxy_cfg.find("roundrobin"), std::string::npos);
}

TEST(ProxyConfig, ChecksHealthWithAHeadThatAsksToCloseInBothBackendsOfAnApp) {
  // A GET's body would be cut by the check's reset, and logged by the app.
  auto f = RenderProxyConfig(Input());
  for (const auto& b : {BackendNameFor("acme/prod/web1"), BodyBackendNameFor("acme/prod/web1")}) {
    std::string sec = Section(f.haproxy_cfg, b);
    EXPECT_NE(sec.find("\n  option httpchk\n"), std::string::npos) << sec;
    EXPECT_NE(sec.find("http-check send meth HEAD uri / ver HTTP/1.1 hdr Host localhost hdr Connection close "
                       "hdr User-Agent rivendell-check\n"),
              std::string::npos)
        << sec;
    EXPECT_NE(sec.find("http-check expect rstatus ^([1-4]|501)\n"), std::string::npos) << sec;
  }
  EXPECT_EQ(f.haproxy_cfg.find("meth GET"), std::string::npos);
}

TEST(ProxyConfig, NamesEveryServerAsTheRuntimeApiDoes) {
  auto f = RenderProxyConfig(Input());
  const std::string web1 = BackendNameFor("acme/prod/web1");
  ASSERT_EQ(f.servers.size(), 2u);
  for (const auto& s : f.servers) {
    EXPECT_EQ(s.rfind(web1 + "/r_", 0), 0u) << s;
    // The same name is on a server line of that backend.
    EXPECT_NE(Section(f.haproxy_cfg, web1).find("  server " + s.substr(web1.size() + 1) + " "), std::string::npos) << s;
  }
}

TEST(ProxyConfig, AReplicaThatLeftOrCameChangesOnlyItsServerLines) {
  auto before = RenderProxyConfig(Input());
  auto in = Input();
  in.servers["acme/prod/web1"].pop_back();
  auto after = RenderProxyConfig(in);
  auto gone = ProxyServersGone(before.servers, after.servers);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_TRUE(ProxyConfigOnlyChangesServers(before.haproxy_cfg, after.haproxy_cfg, gone, {}));
  // A replica that left while another came: both by the runtime API.
  in.servers["acme/prod/web1"].push_back({"web1-9", "10.240.1.9", 8080});
  auto both = RenderProxyConfig(in);
  auto added = ProxyServersGone(both.servers, before.servers);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_FALSE(ProxyConfigOnlyChangesServers(before.haproxy_cfg, both.haproxy_cfg, gone, {}));
  EXPECT_TRUE(ProxyConfigOnlyChangesServers(before.haproxy_cfg, both.haproxy_cfg, gone, added));
  // Its commands: the server and its _body twin.
  auto cmds = ProxyAddServerCommands(both.haproxy_cfg, added[0]);
  ASSERT_TRUE(cmds.ok()) << cmds.status().ToString();
  EXPECT_EQ(cmds->size(), 8u);
}

TEST(ProxyConfig, LeavesOutHostileNamesAndServers) {
  auto in = Input();
  in.sites.push_back({"evil.com\nfrontend x", "acme/prod/web1", "/run/proxy/certs/3.pem"});
  in.sites.push_back({"UPPER.example.com", "acme/prod/web1", "/run/proxy/certs/4.pem"});
  in.sites.push_back({"ok.example.com", "acme/prod/web1", "/run/proxy/certs/x y.pem"});
  in.sites.push_back({"www.example.com", "acme/prod/web1", "/run/proxy/certs/5.pem"});  // a duplicate
  in.servers["acme/prod/web1"].push_back({"j", "10.240.1.9:80 backup", 8080});
  in.servers["acme/prod/web1"].push_back({"k", "10.240.1.9", 70000});
  auto f = RenderProxyConfig(in);
  EXPECT_EQ(f.skipped, 6);
  EXPECT_EQ(f.haproxy_cfg.find("frontend x"), std::string::npos);
  EXPECT_EQ(f.haproxy_cfg.find("backup"), std::string::npos);
  EXPECT_EQ(f.crt_list.find("5.pem"), std::string::npos);
  EXPECT_FALSE(IsProxyName("a..b"));
  EXPECT_TRUE(IsProxyName("web1.prod.acme.pod.test"));
}

TEST(ProxyConfig, SameInputSameBytes) {
  EXPECT_EQ(RenderProxyConfig(Input()).haproxy_cfg, RenderProxyConfig(Input()).haproxy_cfg);
  auto in = Input();
  in.servers["acme/prod/web1"].pop_back();
  EXPECT_NE(RenderProxyConfig(in).haproxy_cfg, RenderProxyConfig(Input()).haproxy_cfg);
}

// An app without HEAD, as Python's http.server without do_HEAD: HEAD gets
// 501 (no body), anything else 200 "app".
std::string NoHead(const std::string& head) {
  return head.rfind("HEAD ", 0) == 0 ? "HTTP/1.0 501 Unsupported method ('HEAD')\r\nConnection: close\r\n\r\n"
                                     : proxytest::LoopbackApp::Ok("app");
}

// In Debian's HAProxy: a check is a HEAD that asks to close (no body for the
// check's reset to cut), and an app that answers it 501 stays in rotation.
TEST(ProxyConfig, HaproxyChecksAReplicaWithAHeadAndKeepsAnAppWithoutHeadUp) {
  ASSERT_EQ(proxytest::MissingTools(), "") << "missing: scripts/install-deps installs them";
  proxytest::Scratch scratch("proxycheck");
  ASSERT_FALSE(scratch.pem().empty()) << "openssl could not make a certificate";
  int ports = transport::ReserveTestPorts(2);
  ASSERT_NE(ports, 0);
  proxytest::LoopbackApp app(ports + 1, NoHead);
  ASSERT_TRUE(app.ok());
  ProxyConfigInput in;
  in.port = ports;
  in.sites = {{"web1.prod.acme.pod.test", "acme/prod/web1", ""}};
  in.servers["acme/prod/web1"] = {{"acme.prod.web1.web.v1.0.x", "127.0.0.1", ports + 1}};
  in.check_inter_ms = 100;
  proxytest::WriteRendered(scratch.dir(), in, scratch.pem());
  proxytest::Haproxy haproxy(scratch.dir(), {"-db"});
  ASSERT_TRUE(haproxy.started());

  // Far more than fall 2 checks' time: a 501 taken for a failure is down by then.
  usleep(1500000);
  const std::string curl = "curl -sk --max-time 10 --haproxy-protocol --resolve web1.prod.acme.pod.test:" +
                           std::to_string(ports) + ":127.0.0.1 -w ' %{http_code}' https://web1.prod.acme.pod.test:" +
                           std::to_string(ports) + "/";
  EXPECT_EQ(proxytest::Output(curl), "app 200") << proxytest::Output("tail -n 5 " + (scratch.dir() / "haproxy.log").string());
  auto reqs = app.requests();
  int checks = 0;
  for (const auto& r : reqs) {
    if (r.rfind("GET / HTTP/1.1", 0) == 0) continue;  // curl's, through the proxy
    EXPECT_EQ(r, "HEAD / HTTP/1.1 close");
    ++checks;
  }
  EXPECT_GE(checks, 3) << "the checks did not reach the app";
  EXPECT_EQ(proxytest::Output("grep -c 'is DOWN' " + (scratch.dir() / "haproxy.log").string()), "0");
}

// The rendered configuration is one HAProxy (Debian's, scripts/install-deps) accepts.
TEST(ProxyConfig, HaproxyAcceptsTheRenderedConfig) {
  ASSERT_EQ(access("/usr/sbin/haproxy", X_OK), 0) << "haproxy is missing: scripts/install-deps";
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rv-proxycfg-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string pem = proxytest::SelfSignedPem(dir);
  ASSERT_FALSE(pem.empty()) << "openssl could not make a certificate";
  auto in = Input();
  // An inherited ingress listener, as the container gets it (here fd 9).
  int l = proxytest::ListenLoopback(0, 8);
  ASSERT_GE(l, 0);
  ASSERT_EQ(dup2(l, 9), 9);
  in.ingress_fd = 9;
  auto f = proxytest::WriteRendered(dir, in, pem);
  std::string check = "/usr/sbin/haproxy -c -q -f " + (dir / "haproxy.cfg").string() + " > " +
                      (dir / "check.out").string() + " 2>&1";
  int rc = system(check.c_str());
  std::ifstream o(dir / "check.out");
  std::string out((std::istreambuf_iterator<char>(o)), {});
  EXPECT_EQ(rc, 0) << out << "\n" << f.haproxy_cfg;
  close(9);
  close(l);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rv::strider
