#include "strider/proxy_runtime.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "common/transport/test_ports.h"
#include "strider/proxy_config.h"
#include "strider/proxy_test_haproxy.h"

namespace rv::strider {
namespace {

namespace fs = std::filesystem;

// HAProxy 2.6's `show proc` on the master CLI, after reloads: a current
// worker and an old one still finishing its connections.
constexpr char kShowProc[] =
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "1               master          12 [failed: 0]  0d00h01m15s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "43              worker          0               0d00h00m50s     2.6.12-1+deb12u4\n"
    "# old workers\n"
    "37              worker          1               0d00h00m52s     2.6.12-1+deb12u4\n"
    "# programs\n"
    "\n";

TEST(ProxyRuntime, ReadsTheMastersReloadCount) {
  EXPECT_EQ(ProxyMasterReloads(kShowProc), 12);
  EXPECT_EQ(ProxyMasterReloads(""), -1);
  EXPECT_EQ(ProxyMasterReloads("Unknown command.\n"), -1);
}

TEST(ProxyRuntime, FindsEveryWorkerCurrentAndOld) {
  EXPECT_EQ(ProxyWorkerPids(kShowProc), (std::vector<int64_t>{43, 37}));
}

TEST(ProxyRuntime, TheCurrentWorkerIsTheOneThatSawNoReload) {
  EXPECT_EQ(ProxyCurrentWorker(kShowProc), 43);
  EXPECT_EQ(ProxyCurrentWorker("# old workers\n37 worker 1 0d 2.6\n"), -1);
  EXPECT_EQ(ProxyCurrentWorker("Unknown command.\n"), -1);
  EXPECT_EQ(ProxyCurrentWorker("-5 worker 0\n"), -1);
}

TEST(ProxyRuntime, IgnoresAnythingThatIsNotAWorkerLine) {
  EXPECT_TRUE(ProxyWorkerPids("").empty());
  EXPECT_TRUE(ProxyWorkerPids("Unknown command.\n").empty());
  EXPECT_TRUE(ProxyWorkerPids("x worker\n-5 worker 0\n99999999999999999999 worker 0\n").empty());
  // Found by fuzz_proxy_cli: PID 0 (and "\r" as a separator) from a hostile master.
  EXPECT_TRUE(ProxyWorkerPids("0\rworker\runNew\n00 worker 0\n").empty());
  EXPECT_EQ(ProxyCurrentWorker("0 worker 0\n"), -1);
  EXPECT_EQ(ProxyMasterReloads("1 master -7\n"), -1);
}

TEST(ProxyRuntime, NamesTheServersThatLeftTheRoutes) {
  std::vector<std::string> before = {"app_a/r_web-1_1", "app_a/r_web-2_2", "app_b/r_api-1_3"};
  std::vector<std::string> after = {"app_a/r_web-2_2", "app_b/r_api-1_3", "app_a/r_web-4_4"};
  EXPECT_EQ(ProxyServersGone(before, after), (std::vector<std::string>{"app_a/r_web-1_1"}));
  EXPECT_TRUE(ProxyServersGone(after, after).empty());
  EXPECT_TRUE(ProxyServersGone({}, after).empty());
  EXPECT_EQ(ProxyServersGone(before, {}), before);
}

TEST(ProxyRuntime, PutsAServerInMaintenanceInOneWorker) {
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r_web-1_1", ProxyServerChange::kMaint),
            "@!43 set server app_a/r_web-1_1 state maint");
}

TEST(ProxyRuntime, BringsAServerBackUpInOneWorker) {
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r_web-1_1", ProxyServerChange::kReady),
            "@!43 set server app_a/r_web-1_1 state ready");
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r_web-1_1", ProxyServerChange::kHealthUp),
            "@!43 set server app_a/r_web-1_1 health up");
}

TEST(ProxyRuntime, RefusesANameThatCouldBreakTheCommand) {
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r_web 1; shutdown", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "app_a/r;x", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "app_a", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "/r", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "a/", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "a/b/c", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(0, "a/b", ProxyServerChange::kMaint), "");
  EXPECT_EQ(ProxyServerCommand(43, "a/b\n@1 shutdown", ProxyServerChange::kMaint), "");
}

TEST(ProxyRuntime, AConfigLessOnlyTheServersThatLeftDropsNothingElse) {
  const std::string before =
      "frontend ingress\n  bind :443\n\nbackend app_a\n  balance leastconn\n  server r_1 10.0.0.1:80\n"
      "  server r_2 10.0.0.2:80\n\nbackend app_a_body\n  server r_2 10.0.0.2:80 track app_a/r_2\n";
  const std::string after =
      "frontend ingress\n  bind :443\n\nbackend app_a\n  balance leastconn\n  server r_1 10.0.0.1:80\n"
      "\nbackend app_a_body\n";
  // app_a_body's r_2 tracks app_a/r_2: it follows its state and leaves with it.
  EXPECT_TRUE(ProxyConfigOnlyChangesServers(before, after, {"app_a/r_2"}, {}));
  EXPECT_TRUE(ProxyConfigOnlyChangesServers(before, before, {}, {}));
  // Read the other way, it is an addition of r_2 and its twin.
  EXPECT_TRUE(ProxyConfigOnlyChangesServers(after, before, {}, {"app_a/r_2"}));
}

TEST(ProxyRuntime, AConfigThatChangedMoreThanItsServersIsNotOnlyAServerChange) {
  const std::string before = "backend app_a\n  server r_1 10.0.0.1:80\n  server r_2 10.0.0.2:80\n";
  // r_2 left, but r_1 moved too.
  EXPECT_FALSE(ProxyConfigOnlyChangesServers(before, "backend app_a\n  server r_1 10.0.0.9:80\n", {"app_a/r_2"}, {}));
  // The server of another backend by the same name stays.
  EXPECT_FALSE(ProxyConfigOnlyChangesServers(before, "backend app_a\n  server r_1 10.0.0.1:80\n", {"app_b/r_2"}, {}));
  // A line that only mentions the server is no server line.
  EXPECT_FALSE(ProxyConfigOnlyChangesServers("frontend f\n  server r_2 x\n", "frontend f\n", {"f/r_2"}, {}));
  // An added server must be named as added.
  EXPECT_FALSE(ProxyConfigOnlyChangesServers(before, before + "  server r_3 10.0.0.3:80\n", {}, {}));
  EXPECT_TRUE(ProxyConfigOnlyChangesServers(before, before + "  server r_3 10.0.0.3:80\n", {}, {"app_a/r_3"}));
  // One left and one came in one change.
  EXPECT_TRUE(ProxyConfigOnlyChangesServers(before, "backend app_a\n  server r_1 10.0.0.1:80\n  server r_3 10.0.0.3:80\n",
                                            {"app_a/r_2"}, {"app_a/r_3"}));
  // A server named as added but whose backend changed besides is not.
  EXPECT_FALSE(ProxyConfigOnlyChangesServers(before, "backend app_a\n  balance roundrobin\n  server r_1 10.0.0.1:80\n"
                                            "  server r_2 10.0.0.2:80\n  server r_3 10.0.0.3:80\n", {}, {"app_a/r_3"}));
}

TEST(ProxyRuntime, FindsTheServersThatTrackAServer) {
  const std::string cfg =
      "backend app_a\n  server r_1 10.0.0.1:80\n\nbackend app_a_body\n  server r_1 10.0.0.1:80 track app_a/r_1\n"
      "\nbackend app_b_body\n  server r_1 10.0.0.7:80 track app_b/r_1\n";
  EXPECT_EQ(ProxyTrackers(cfg, "app_a/r_1"), (std::vector<std::string>{"app_a_body/r_1"}));
  EXPECT_TRUE(ProxyTrackers(cfg, "app_a/r_2").empty());
}

// HAProxy 2.6 takes `add server` with the server's words, but not `track`
// of a dynamic server: the twin gets the tracked backend's checks instead.
TEST(ProxyRuntime, AnAddedServerGetsItsBackendsDefaultsAndItsTwinChecksOnItsOwn) {
  const std::string cfg =
      "defaults\n  default-server inter 9s\n\nbackend app_a\n  balance leastconn\n"
      "  default-server check inter 250ms fall 2 rise 1\n  server r_1 10.0.0.1:80\n  server r_2 10.0.0.2:8080\n"
      "\nbackend app_a_body\n  balance leastconn\n  server r_2 10.0.0.2:8080 track app_a/r_2\n";
  auto cmds = ProxyAddServerCommands(cfg, "app_a/r_2");
  ASSERT_TRUE(cmds.ok()) << cmds.status().ToString();
  EXPECT_EQ(*cmds, (std::vector<std::string>{
                       "add server app_a/r_2 10.0.0.2:8080 check inter 250ms fall 2 rise 1",
                       "add server app_a_body/r_2 10.0.0.2:8080 check inter 250ms fall 2 rise 1",
                       "enable health app_a/r_2",
                       "set server app_a/r_2 health up",
                       "set server app_a/r_2 state ready",
                       "enable health app_a_body/r_2",
                       "set server app_a_body/r_2 health up",
                       "set server app_a_body/r_2 state ready",
                   }));
}

TEST(ProxyRuntime, AddsNoServerTheConfigLacksOrThatCouldBreakACommand) {
  const std::string cfg = "backend app_a\n  server r_1 10.0.0.1:80\n  server r_2 10.0.0.2:80;shutdown\n";
  EXPECT_EQ(ProxyAddServerCommands(cfg, "app_a/r_3").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ProxyAddServerCommands(cfg, "app_b/r_1").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ProxyAddServerCommands(cfg, "app_a/r_2").status().code(), Status::Code::kInvalid);
  // Without checks: in rotation, no health commands.
  auto plain = ProxyAddServerCommands(cfg, "app_a/r_1");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, (std::vector<std::string>{"add server app_a/r_1 10.0.0.1:80", "set server app_a/r_1 state ready"}));
}

TEST(ProxyRuntime, AMapChangeIsDelForAKeyGoneSetForAValueChangedAndAddForANewKey) {
  auto cmds = ProxyMapCommands(43, "/run/proxy/rates.map", "a.example 50\nb.example 100\nc.example 7\n",
                               "b.example 200\nc.example 7\nd.example 30\n");
  ASSERT_TRUE(cmds.ok()) << cmds.status().ToString();
  EXPECT_EQ(*cmds, (std::vector<std::string>{
                       "@!43 del map /run/proxy/rates.map a.example",
                       "@!43 set map /run/proxy/rates.map b.example 200",
                       "@!43 add map /run/proxy/rates.map d.example 30",
                   }));
}

TEST(ProxyRuntime, TheSameEntriesNeedNoCommand) {
  auto cmds = ProxyMapCommands(43, "/run/proxy/bodies.map", "a.example 5\nb.example 6\n", "\nb.example 6\na.example 5\n");
  ASSERT_TRUE(cmds.ok());
  EXPECT_TRUE(cmds->empty());
  auto none = ProxyMapCommands(43, "/run/proxy/bodies.map", "", "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ProxyRuntime, RefusesAMapLineOrPathThatCouldBreakACommand) {
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "", "a.example 5; reload\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "", "A.example 5\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "", "a.example -5\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "", "a.example\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m.map", "a;b 5\n", "").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "/run/proxy/m map", "", "a.example 5\n").ok());
  EXPECT_FALSE(ProxyMapCommands(43, "run/proxy/m.map", "", "a.example 5\n").ok());
  EXPECT_FALSE(ProxyMapCommands(0, "/run/proxy/m.map", "", "a.example 5\n").ok());
}

TEST(ProxyRuntime, ANewNameIsItsCertificateThenItsCrtListLineThenItsRoute) {
  const std::string pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nBBBB\n"
                          "-----END PRIVATE KEY-----\n";
  ProxyNames before{"/p/fallback.pem\n/p/certs/a.pem [alpn h2,http/1.1] a.example\n", "a.example app_a\n"};
  ProxyNames after{before.crt_list + "/p/certs/b.pem [alpn h2,http/1.1] b.example\n", "a.example app_a\nb.example app_a\n"};
  auto cmds = ProxyNameCommands("/p/certs.list", "/p/hosts.map", before, after, {{"/p/certs/b.pem", pem}});
  ASSERT_TRUE(cmds.ok()) << cmds.status().ToString();
  EXPECT_EQ(*cmds, (std::vector<std::string>{
                       "new ssl cert /p/certs/b.pem",
                       "set ssl cert /p/certs/b.pem <<\n" + pem,
                       "commit ssl cert /p/certs/b.pem",
                       "add ssl crt-list /p/certs.list <<\n/p/certs/b.pem [alpn h2,http/1.1] b.example\n",
                       "add map /p/hosts.map b.example app_a",
                   }));
  // Read the other way: the route first, then the line, then the certificate.
  auto gone = ProxyNameCommands("/p/certs.list", "/p/hosts.map", after, before, {});
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_EQ(*gone, (std::vector<std::string>{
                       "del map /p/hosts.map b.example",
                       "del ssl crt-list /p/certs.list /p/certs/b.pem",
                       "del ssl cert /p/certs/b.pem",
                   }));
}

TEST(ProxyRuntime, ARenewedCertificateIsSetAndCommittedInPlace) {
  ProxyNames names{"/p/certs/a.pem [alpn h2,http/1.1] a.example\n", "a.example app_a\n"};
  auto cmds = ProxyNameCommands("/p/certs.list", "/p/hosts.map", names, names, {{"/p/certs/a.pem", "PEM\n"}});
  ASSERT_TRUE(cmds.ok());
  EXPECT_EQ(*cmds, (std::vector<std::string>{"set ssl cert /p/certs/a.pem <<\nPEM\n", "commit ssl cert /p/certs/a.pem"}));
}

TEST(ProxyRuntime, LeavesToTheReloadANameChangeTheCliCannotCarry) {
  ProxyNames before{"/p/certs/a.pem [alpn h2,http/1.1] a.example\n", "a.example app_a\n"};
  ProxyNames added{before.crt_list + "/p/certs/b.pem [alpn h2,http/1.1] b.example\n", "a.example app_a\nb.example app_a\n"};
  auto refused = [&](const ProxyNames& after, const std::map<std::string, std::string>& certs) {
    return !ProxyNameCommands("/p/certs.list", "/p/hosts.map", before, after, certs).ok();
  };
  EXPECT_TRUE(refused(added, {}));                                        // a new line without its certificate
  EXPECT_TRUE(refused(added, {{"/p/certs/b.pem", "A\n\nB\n"}}));          // a blank line would end the payload
  EXPECT_TRUE(refused(added, {{"/p/certs/b.pem", "A\r\n"}}));             // not printable
  EXPECT_TRUE(refused(added, {{"/p/certs/c.pem", "A\n"}}));                // a certificate no line names
  EXPECT_TRUE(refused({"/p/certs/a.pem [alpn h2] a.example\n", before.hosts_map}, {}));  // a line changed in place
  EXPECT_TRUE(refused({before.crt_list, "a.example app_a;shutdown\n"}, {}));  // a route the CLI cannot take
  EXPECT_TRUE(refused({"/p/certs/a b.pem x\n", before.hosts_map}, {}));
  EXPECT_TRUE(ProxyNameCommands("p/certs.list", "/p/hosts.map", before, before, {}).status().code() ==
              Status::Code::kInvalid);
}

TEST(ProxyRuntime, TellsTheCliAnswersThatSayDoneFromErrors) {
  for (const char* ok : {"", "\n", "New server registered.\n\n", "Committing /p/a.pem\nSuccess!\n\n",
                         "Transaction created for certificate /p/a.pem!\n\n", "New empty certificate store '/p/a.pem'!\n",
                         "Entry '/p/a.pem' deleted in crtlist '/p/certs.list'!\n", "Certificate '/p/a.pem' deleted!\n"})
    EXPECT_TRUE(ProxyCliTook(ok)) << ok;
  for (const char* bad : {"No such server.\n", "Unknown command.\n", "No ongoing transaction! !\nCan't commit /p/a.pem!\n",
                          "unable to load certificate from file '/p/a.pem'.\nCan't load the payload\n",
                          "Can't remove the certificate: certificate '/p/z.pem' doesn't exist!\n", "Permission denied\n"})
    EXPECT_FALSE(ProxyCliTook(bad)) << bad;
}

// A replica on loopback that answers "<tag>" to every request.
struct TagServer : proxytest::LoopbackApp {
  TagServer(int port, const std::string& tag) : LoopbackApp(port, [tag](const std::string&) { return Ok(tag); }) {}
};

std::string Master(const std::string& sock, const std::string& cmd) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string line = cmd + "\n";
    (void)!write(fd, line.data(), line.size());
    shutdown(fd, SHUT_WR);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// The rendered configuration in Debian's HAProxy, master-worker as in the
// proxy image: a second replica comes by the runtime API alone, GETs and
// bodies (the _body backend, its twin) reach it at once, and maintenance
// takes it and its twin out again.
TEST(ProxyRuntime, HaproxyTakesAnAddedReplicaAndItsTwinWithoutAReload) {
  ASSERT_EQ(proxytest::MissingTools(), "") << "missing: scripts/install-deps installs them";
  proxytest::Scratch scratch("addserver");
  const fs::path& dir = scratch.dir();
  const std::string& pem = scratch.pem();
  ASSERT_FALSE(pem.empty()) << "openssl could not make a certificate";
  int ports = transport::ReserveTestPorts(3);
  ASSERT_NE(ports, 0);
  TagServer one(ports + 1, "one"), two(ports + 2, "two");
  ASSERT_TRUE(one.ok() && two.ok());

  const std::string app = "acme/prod/web1", name = "web1.prod.acme.pod.test";
  ProxyConfigInput in;
  in.port = ports;
  in.sites = {{name, app, ""}};
  in.limits[app] = {0, 100000};  // bodies go through the _body backend
  in.servers[app] = {{"acme.prod.web1.web.v1.0.a", "127.0.0.1", ports + 1}};
  auto before = proxytest::WriteRendered(dir, in, pem);
  const std::string sock = (dir / "master.sock").string();
  // The master (it stops its worker), then the files, go whatever fails below.
  proxytest::Haproxy haproxy(dir, {"-W", "-db", "-S", sock});
  ASSERT_TRUE(haproxy.started());
  const std::string url = "https://" + name + ":" + std::to_string(ports) + "/";
  const std::string curl = "curl -sk --max-time 5 --haproxy-protocol --resolve " + name + ":" +
                           std::to_string(ports) + ":127.0.0.1 ";
  // Which replicas answer n GETs (or n POSTs with a body).
  auto answers = [&](int n, bool body) {
    std::set<std::string> seen;
    for (int i = 0; i < n; ++i) seen.insert(proxytest::Output(curl + (body ? "--http1.1 --data-binary 12345 " : "") + url));
    return seen;
  };
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = proxytest::Output(curl + url) == "one";
    if (!up) usleep(50000);
  }
  ASSERT_TRUE(up) << "haproxy did not answer; see " << dir / "haproxy.log";

  // The strider's change: the files get the second replica, the worker gets it by the CLI.
  in.servers[app].push_back({"acme.prod.web1.web.v1.1.b", "127.0.0.1", ports + 2});
  auto after = proxytest::WriteRendered(dir, in, pem);
  auto added = ProxyServersGone(after.servers, before.servers);
  ASSERT_EQ(added.size(), 1u);
  ASSERT_TRUE(ProxyConfigOnlyChangesServers(before.haproxy_cfg, after.haproxy_cfg, {}, added));
  // The master re-executes once after its start; its CLI answers after that.
  int64_t worker = -1;
  for (int i = 0; i < 100 && worker < 0; ++i) {
    worker = ProxyCurrentWorker(Master(sock, "show proc"));
    if (worker < 0) usleep(50000);
  }
  ASSERT_GT(worker, 0) << proxytest::Output("cat " + (dir / "haproxy.log").string());
  auto cmds = ProxyAddServerCommands(after.haproxy_cfg, added[0]);
  ASSERT_TRUE(cmds.ok()) << cmds.status().ToString();
  for (const auto& c : *cmds) {
    std::string r = Master(sock, "@!" + std::to_string(worker) + " " + c);
    EXPECT_TRUE(r.find_first_not_of(" \r\n") == std::string::npos || r.rfind("New server registered.", 0) == 0)
        << c << ": " << r;
  }
  EXPECT_EQ(answers(12, false), (std::set<std::string>{"one", "two"}));
  EXPECT_EQ(answers(12, true), (std::set<std::string>{"one", "two"}));
  EXPECT_EQ(ProxyMasterReloads(Master(sock, "show proc")), 0) << "a reload happened";

  // Out of rotation: the server and its twin (added servers do not track).
  std::vector<std::string> out = {added[0]};
  for (const auto& t : ProxyTrackers(after.haproxy_cfg, added[0])) out.push_back(t);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& s : out) EXPECT_EQ(Master(sock, ProxyServerCommand(worker, s, ProxyServerChange::kMaint)), "\n");
  EXPECT_EQ(answers(6, false), (std::set<std::string>{"one"}));
  EXPECT_EQ(answers(6, true), (std::set<std::string>{"one"}));
}

// The rendered configuration in Debian's HAProxy, master-worker: a custom
// domain of an app it routes comes, its certificate is renewed, and it goes,
// each by ProxyNameCommands alone, with no reload.
TEST(ProxyRuntime, HaproxyTakesANewNameARenewedCertificateAndANameGoneWithoutAReload) {
  ASSERT_EQ(proxytest::MissingTools(), "") << "missing: scripts/install-deps installs them";
  proxytest::Scratch scratch("names");
  const fs::path& dir = scratch.dir();
  const std::string& pem = scratch.pem();
  const std::string shop_pem = proxytest::SelfSignedPem(dir, "shop", "shop.pem");
  const std::string renewed_pem = proxytest::SelfSignedPem(dir, "shop-renewed", "renewed.pem");
  ASSERT_FALSE(pem.empty() || shop_pem.empty() || renewed_pem.empty()) << "openssl could not make a certificate";
  auto read = [](const std::string& f) {
    std::ifstream in(f);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  int ports = transport::ReserveTestPorts(2);
  ASSERT_NE(ports, 0);
  TagServer one(ports + 1, "one");
  ASSERT_TRUE(one.ok());

  const std::string app = "acme/prod/web1", web = "web1.prod.acme.pod.test", shop = "shop.example.test";
  ProxyConfigInput in;
  in.port = ports;
  in.sites = {{web, app, ""}};
  in.servers[app] = {{"acme.prod.web1.web.v1.0.a", "127.0.0.1", ports + 1}};
  auto before = proxytest::WriteRendered(dir, in, pem);
  const std::string sock = (dir / "master.sock").string();
  proxytest::Haproxy haproxy(dir, {"-W", "-db", "-S", sock});
  ASSERT_TRUE(haproxy.started());
  // The body and the served certificate's subject for a name (SNI and Host).
  auto get = [&](const std::string& n) {
    return proxytest::Output("curl -skv --max-time 5 --haproxy-protocol --resolve " + n + ":" + std::to_string(ports) +
                             ":127.0.0.1 https://" + n + ":" + std::to_string(ports) + "/ 2>&1 | grep -E '^[a-z0-9-]+$|subject:'");
  };
  int64_t worker = -1;
  for (int i = 0; i < 100 && worker < 0; ++i) {
    worker = ProxyCurrentWorker(Master(sock, "show proc"));
    if (worker < 0) usleep(50000);
  }
  ASSERT_GT(worker, 0) << proxytest::Output("cat " + (dir / "haproxy.log").string());
  auto send = [&](const std::vector<std::string>& cmds) {
    for (const auto& c : cmds) {
      std::string r = Master(sock, "@!" + std::to_string(worker) + " " + c);
      EXPECT_TRUE(ProxyCliTook(r)) << c.substr(0, c.find('\n')) << ": " << r;
    }
  };
  EXPECT_NE(get(web).find("one"), std::string::npos);
  EXPECT_EQ(get(shop).find("one"), std::string::npos);

  // The name comes: its certificate file (as the strider writes it) and the commands.
  in.sites.push_back({shop, app, ""});
  auto after = proxytest::WriteRendered(dir, in, pem);
  const std::string shop_file = in.sites[1].pem_file;
  fs::copy_file(shop_pem, shop_file, fs::copy_options::overwrite_existing);
  ProxyNames b{before.crt_list, before.hosts_map}, a{after.crt_list, after.hosts_map};
  const std::string list = (dir / kProxyCrtListFile).string(), hosts = (dir / kProxyHostsMapFile).string();
  auto add = ProxyNameCommands(list, hosts, b, a, {{shop_file, read(shop_pem)}});
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  send(*add);
  std::string got = get(shop);
  EXPECT_NE(got.find("one"), std::string::npos) << got;
  EXPECT_NE(got.find("CN=shop\n"), std::string::npos) << got;  // the subject line, then the body

  // Its certificate is renewed in place.
  auto renew = ProxyNameCommands(list, hosts, a, a, {{shop_file, read(renewed_pem)}});
  ASSERT_TRUE(renew.ok()) << renew.status().ToString();
  send(*renew);
  EXPECT_NE(get(shop).find("CN=shop-renewed"), std::string::npos) << get(shop);

  // It goes: the fallback certificate, and the 404 of a name no app answers at.
  auto gone = ProxyNameCommands(list, hosts, a, b, {});
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  send(*gone);
  got = get(shop);
  EXPECT_NE(got.find("CN=invalid"), std::string::npos) << got;
  EXPECT_EQ(got.find("one"), std::string::npos) << got;
  EXPECT_NE(get(web).find("one"), std::string::npos);
  EXPECT_EQ(ProxyMasterReloads(Master(sock, "show proc")), 0) << "a reload happened";
}

}  // namespace
}  // namespace rv::strider
