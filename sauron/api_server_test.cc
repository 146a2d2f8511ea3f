// sauron's API over real CURVE sockets on 127.0.0.1 (ephemeral ports): an
// in-process Daemon, clients with their own context and keys, and, for the
// liveness cases, host processes that are killed or stopped.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <poll.h>
#include <thread>

#include "common/msg/topics.h"
#include "common/clock.h"
#include "common/transport/curve.h"
#include "common/transport/monitor.h"
#include "common/transport/rpc_client.h"
#include "sauron/daemon.h"

namespace rv::sauron {
namespace {

using namespace std::chrono_literals;

// A DEALER like a strider's: knows its own connection's local endpoint (from
// its monitor's CONNECTED event), which it names in host.hello.
class Client {
 public:
  Client(zmq::context_t& ctx, const std::string& endpoint, const transport::CurveKeypair& mine,
         const std::string& server_key)
      : sock_(ctx, zmq::socket_type::dealer) {
    transport::SetDefaults(sock_);
    transport::MakeCurveClient(sock_, mine, server_key);
    mon_ = std::make_unique<transport::ConnectionMonitor>(ctx, sock_);
    sock_.connect(endpoint);
  }
  // Waits for the TCP connection and returns its local "ip:port".
  std::string LocalEndpoint(int timeout_ms = 3000) {
    for (int64_t end = MonotonicMs() + timeout_ms; local_.empty() && MonotonicMs() < end;) {
      zmq::pollitem_t item{mon_->socket().handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 20ms);
      while (auto ev = mon_->Next()) {
        if (ev->kind == transport::ConnEvent::kConnected) local_ = ev->local;
      }
    }
    return local_;
  }
  void SendRaw(const std::string& bytes) { sock_.send(zmq::buffer(bytes), zmq::send_flags::dontwait); }
  // Waits for the reply to `req_id`; returns it decoded.
  Result<msg::Reply> Wait(uint64_t req_id, int timeout_ms = 3000) {
    for (int64_t end = MonotonicMs() + timeout_ms; MonotonicMs() < end;) {
      zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 20ms);
      zmq::message_t m;
      if (!(item.revents & ZMQ_POLLIN) || !sock_.recv(m, zmq::recv_flags::dontwait)) continue;
      auto env = msg::DecodeEnvelope(m.data(), m.size());
      if (!env.ok() || env->req_id != req_id) continue;
      msg::Reply r;
      if (Status s = msg::DecodeBody(*env, &r); !s.ok()) return s;
      return r;
    }
    return Status::Unavailable("no reply");
  }
  template <typename Req, typename Resp>
  Status Call(const Req& req, Resp* out, int timeout_ms = 3000) {
    uint64_t id = ++next_id_;
    SendRaw(msg::Encode(req, id));
    auto r = Wait(id, timeout_ms);
    if (!r.ok()) return r.status();
    if (r->code != 0) return Status::FromCode(static_cast<Status::Code>(r->code), r->error);
    if (!out) return Status::Ok();
    auto env = msg::DecodeEnvelope(r->payload);
    if (!env.ok()) return env.status();
    return msg::DecodeBody(*env, out);
  }
  template <typename Req>
  Status Call(const Req& req, int timeout_ms = 3000) {
    return Call(req, static_cast<msg::Reply*>(nullptr), timeout_ms);
  }
  zmq::socket_t& socket() { return sock_; }

 private:
  zmq::socket_t sock_;
  std::unique_ptr<transport::ConnectionMonitor> mon_;
  std::string local_;
  uint64_t next_id_ = 1000;
};

// Subscribes to sauron's change stream.
class Watcher {
 public:
  Watcher(zmq::context_t& ctx, const std::string& endpoint, const transport::CurveKeypair& mine,
          const std::string& server_key, const std::string& topic)
      : sub_(ctx, zmq::socket_type::sub) {
    transport::SetDefaults(sub_);
    transport::MakeCurveClient(sub_, mine, server_key);
    sub_.set(zmq::sockopt::subscribe, msg::PodTopic(topic));
    sub_.connect(endpoint);
  }
  std::optional<msg::Change> Next(int timeout_ms) {
    for (int64_t end = MonotonicMs() + timeout_ms; MonotonicMs() < end;) {
      zmq::pollitem_t item{sub_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 5ms);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t topic, body;
      if (!sub_.recv(topic, zmq::recv_flags::dontwait)) continue;
      if (!topic.more() || !sub_.recv(body, zmq::recv_flags::none)) continue;
      auto env = msg::DecodeEnvelope(body.data(), body.size());
      msg::Change c;
      if (env.ok() && msg::DecodeBody(*env, &c).ok()) return c;
    }
    return std::nullopt;
  }

 private:
  zmq::socket_t sub_;
};

class SauronApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rv-sauron-api-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "keys");
    admin_ = transport::GenerateKeypair();
    elrond_ = transport::GenerateKeypair();
    ASSERT_TRUE(transport::SaveKeypair((dir_ / "keys/admin.key").string(), admin_).ok());
    ASSERT_TRUE(transport::SaveKeypair((dir_ / "keys/elrond.key").string(), elrond_).ok());
    auto cfg = ParsePodConfig(R"({"sauron": {"api": "tcp://127.0.0.1:*", "pub": "tcp://127.0.0.1:*",
                                 "heartbeat_ms": 100, "zmtp_heartbeat_ms": 100, "lost_after_ms": 400}})",
                              dir_.string());
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    cfg_ = *cfg;
    StartDaemon();
  }
  void TearDown() override {
    StopDaemon();
    for (pid_t p : children_) {
      kill(p, SIGKILL);
      waitpid(p, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  void StartDaemon() {
    auto d = Daemon::Create(cfg_);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    daemon_ = std::move(*d);
    stop_ = false;
    thread_ = std::thread([this] { daemon_->Run(stop_); });
  }
  void StopDaemon() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    daemon_.reset();
  }
  std::unique_ptr<Client> Connect(const transport::CurveKeypair& kp) {
    return std::make_unique<Client>(ctx_, daemon_->api_endpoint(), kp, daemon_->keys().public_key);
  }
  std::unique_ptr<Watcher> Watch(const std::string& topic) {
    auto w = std::make_unique<Watcher>(ctx_, daemon_->pub_endpoint(), admin_, daemon_->keys().public_key, topic);
    std::this_thread::sleep_for(100ms);  // let the subscription reach the PUB
    return w;
  }
  // Enrolls `id` through the admin API and returns its key pair.
  transport::CurveKeypair Enroll(Client& admin, const std::string& id) {
    auto kp = transport::GenerateKeypair();
    msg::EnrollHost e;
    e.host_id = id;
    e.public_key = kp.public_key;
    e.labels["zone"] = "a";
    Status s = admin.Call(e);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return kp;
  }
  msg::HostWelcome Hello(Client& host, const std::string& id) {
    msg::HostHello h;
    h.host_id = id;
    h.address = "127.0.0.1";
    h.capacity = {4096, 10000, 4000};
    h.free = h.capacity;
    h.conn_endpoint = host.LocalEndpoint();
    msg::HostWelcome w;
    Status s = host.Call(h, &w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w;
  }
  int64_t Counter(Client& admin, const std::string& name) {
    msg::ListRequest req;
    req.what = "counters";
    msg::Listing out;
    if (!admin.Call(req, &out).ok()) return -1;
    auto it = out.counters.find(name);
    return it == out.counters.end() ? 0 : it->second;
  }
  std::vector<msg::Event> Events(Client& admin) {
    msg::ListRequest req;
    req.what = "events";
    msg::Listing out;
    EXPECT_TRUE(admin.Call(req, &out).ok());
    return out.events;
  }
  // A host in its own process (sauron_fake_host, beside this test binary):
  // says hello, then heartbeats until killed. Returns its pid once welcomed.
  pid_t SpawnHost(const std::string& id, const transport::CurveKeypair& kp) {
    std::string key_file = (dir_ / (id + ".key")).string();
    if (!transport::SaveKeypair(key_file, kp).ok()) return -1;
    std::string helper = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "sauron_fake_host").string();
    std::string endpoint = daemon_->api_endpoint();
    std::string server = daemon_->keys().public_key;
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      execl(helper.c_str(), helper.c_str(), endpoint.c_str(), server.c_str(), key_file.c_str(), id.c_str(), "100",
            "60", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
      close(fds[0]);
      return -1;
    }
    children_.push_back(pid);
    char buf[16] = {0};
    pollfd pfd{fds[0], POLLIN, 0};
    bool ready = poll(&pfd, 1, 5000) == 1 && read(fds[0], buf, sizeof buf - 1) > 0 && std::string(buf).rfind("ready", 0) == 0;
    close(fds[0]);
    return ready ? pid : -1;
  }

  std::filesystem::path dir_;
  PodConfig cfg_;
  transport::CurveKeypair admin_, elrond_;
  zmq::context_t ctx_;
  std::unique_ptr<Daemon> daemon_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<pid_t> children_;
};

TEST_F(SauronApiTest, EnrollHelloAwardClaimReport) {
  auto admin = Connect(admin_);
  auto elrond = Connect(elrond_);
  auto kp = Enroll(*admin, "h1");
  auto host = Connect(kp);  // no restart needed after enrollment
  auto w = Hello(*host, "h1");
  EXPECT_EQ(w.heartbeat_ms, 100);
  EXPECT_EQ(w.labels["zone"], "a");

  msg::SubmitJobs submit;
  msg::JobSpec spec;
  spec.id = "web-0";
  spec.service = "web";
  submit.jobs.push_back(spec);
  msg::JobIds ids;
  ASSERT_TRUE(admin->Call(submit, &ids).ok());
  ASSERT_EQ(ids.ids, std::vector<std::string>{"web-0"});

  msg::Snapshot snap;
  ASSERT_TRUE(elrond->Call(msg::SnapshotRequest{}, &snap).ok());
  ASSERT_EQ(snap.jobs.size(), 1u);
  ASSERT_EQ(snap.hosts.size(), 1u);
  EXPECT_EQ(snap.hosts[0].state, "up");

  msg::AwardRecordRequest award;
  award.awards.push_back({"web-0", 0, "h1"});
  msg::Outcomes out;
  ASSERT_TRUE(elrond->Call(award, &out).ok());
  ASSERT_TRUE(out.results.at(0).ok) << out.results[0].reason;
  EXPECT_EQ(out.results[0].attempt, 1);

  msg::ClaimRequest claim;
  claim.host_id = "h1";
  claim.claims.push_back({"web-0", 1});
  ASSERT_TRUE(host->Call(claim, &out).ok());
  ASSERT_TRUE(out.results.at(0).ok) << out.results[0].reason;

  msg::ReportAck ack;
  ASSERT_TRUE(host->Call(msg::JobReport{"h1", "web-0", 1, "running", ""}, &ack).ok());
  EXPECT_FALSE(ack.stop);
  ASSERT_TRUE(host->Call(msg::JobReport{"h1", "web-0", 0, "running", ""}, &ack).ok());
  EXPECT_TRUE(ack.stop);

  // A turn's reports in one request: applied in order in one transaction; the
  // stale attempt and the unknown job come back to be stopped.
  msg::JobReports batch;
  batch.host_id = "h1";
  batch.reports = {{"h1", "web-0", 1, "unhealthy", "tcp :80"}, {"h1", "web-0", 0, "running", ""},
                   {"h1", "ghost", 3, "running", ""}, {"h1", "web-0", 1, "running", "ok"}};
  msg::ReportAcks acks;
  ASSERT_TRUE(host->Call(batch, &acks).ok());
  ASSERT_EQ(acks.stop.size(), 2u);
  EXPECT_EQ(acks.stop[0].job_id, "web-0");
  EXPECT_EQ(acks.stop[0].attempt, 0);
  EXPECT_EQ(acks.stop[1].job_id, "ghost");
  batch.reports = {{"h2", "web-0", 1, "failed", ""}};  // for another host: refused
  EXPECT_FALSE(host->Call(batch, &acks).ok());
  batch.reports = {{"h1", "web-0", 1, "dancing", ""}};
  EXPECT_FALSE(host->Call(batch, &acks).ok());

  msg::ListRequest list;
  list.what = "jobs";
  msg::Listing listing;
  ASSERT_TRUE(admin->Call(list, &listing).ok());
  ASSERT_EQ(listing.jobs.size(), 1u);
  EXPECT_EQ(listing.jobs[0].state, "placed");
  EXPECT_EQ(listing.jobs[0].run_state, "running");
}

TEST_F(SauronApiTest, RequestsSentTogetherAreGroupCommittedAndEachAnswered) {
  auto admin = Connect(admin_);
  auto elrond = Connect(elrond_);
  std::vector<std::unique_ptr<Client>> hosts;
  for (const char* id : {"h1", "h2"}) {
    hosts.push_back(Connect(Enroll(*admin, id)));
    Hello(*hosts.back(), id);
  }
  msg::SubmitJobs submit;
  msg::AwardRecordRequest award;
  for (int i = 0; i < 20; ++i) {
    msg::JobSpec spec;
    spec.id = "j" + std::to_string(i);
    spec.service = "web";
    submit.jobs.push_back(spec);
    award.awards.push_back({spec.id, 0, i % 2 ? "h2" : "h1"});
  }
  ASSERT_TRUE(admin->Call(submit).ok());
  auto placed = Watch("job.placed");
  int64_t groups0 = Counter(*admin, "api.groups"), grouped0 = Counter(*admin, "api.group_requests");
  msg::Outcomes out;
  ASSERT_TRUE(elrond->Call(award, &out).ok());
  for (const auto& o : out.results) ASSERT_TRUE(o.ok) << o.reason;
  // One claim per job, all sent before any reply is read, interleaved with
  // an admin request that cannot join a group.
  std::vector<std::pair<Client*, uint64_t>> sent;
  for (int i = 0; i < 20; ++i) {
    Client* host = hosts[i % 2].get();
    msg::ClaimRequest claim;
    claim.host_id = i % 2 ? "h2" : "h1";
    claim.claims.push_back({"j" + std::to_string(i), 1});
    uint64_t id = 5000 + i;
    host->SendRaw(msg::Encode(claim, id));
    sent.emplace_back(host, id);
    if (i == 10) admin->SendRaw(msg::Encode(msg::ListRequest{"hosts"}, 7777));
  }
  for (auto& [host, id] : sent) {
    auto r = host->Wait(id);
    ASSERT_TRUE(r.ok()) << "claim " << id << ": " << r.status().ToString();
    ASSERT_EQ(r->code, 0) << r->error;
    auto env = msg::DecodeEnvelope(r->payload);
    ASSERT_TRUE(env.ok());
    msg::Outcomes claimed;
    ASSERT_TRUE(msg::DecodeBody(*env, &claimed).ok());
    ASSERT_EQ(claimed.results.size(), 1u);
    EXPECT_TRUE(claimed.results[0].ok) << claimed.results[0].reason;
  }
  auto listed = admin->Wait(7777);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->code, 0);
  // Every claim was published once, in seq order, after its group's commit.
  int64_t last_seq = 0;
  for (int i = 0; i < 20; ++i) {
    auto c = placed->Next(2000);
    ASSERT_TRUE(c.has_value()) << "job.placed " << i;
    EXPECT_GT(c->event.seq, last_seq);
    last_seq = c->event.seq;
  }
  // The award and the 20 claims joined groups (admin.list and the counter
  // reads did not); fewer commits than requests is likely but up to timing.
  EXPECT_EQ(Counter(*admin, "api.group_requests") - grouped0, 21);
  EXPECT_GE(Counter(*admin, "api.groups") - groups0, 1);
  EXPECT_LE(Counter(*admin, "api.groups") - groups0, 21);
  msg::ListRequest list;
  list.what = "jobs";
  msg::Listing listing;
  ASSERT_TRUE(admin->Call(list, &listing).ok());
  for (const auto& j : listing.jobs) EXPECT_EQ(j.state, "placed") << j.spec.id;
}

TEST_F(SauronApiTest, HostImpersonatingAnotherHostIsRefused) {
  auto admin = Connect(admin_);
  auto kp1 = Enroll(*admin, "h1");
  Enroll(*admin, "h2");
  auto h1 = Connect(kp1);
  Hello(*h1, "h1");
  msg::HostHello fake;
  fake.host_id = "h2";
  Status s = h1->Call(fake);
  EXPECT_EQ(s.code(), Status::Code::kDenied) << s.ToString();
  msg::ClaimRequest claim;
  claim.host_id = "h2";
  s = h1->Call(claim);
  EXPECT_EQ(s.code(), Status::Code::kDenied) << s.ToString();
  EXPECT_GE(Counter(*admin, "api.refused"), 2);
  bool logged = false;
  for (auto& e : Events(*admin)) logged |= e.kind == "security.refused" && e.host_id == "h1";
  EXPECT_TRUE(logged);
}

TEST_F(SauronApiTest, RolesAreEnforced) {
  auto admin = Connect(admin_);
  auto elrond = Connect(elrond_);
  auto kp = Enroll(*admin, "h1");
  auto host = Connect(kp);
  Hello(*host, "h1");
  EXPECT_EQ(host->Call(msg::SnapshotRequest{}).code(), Status::Code::kDenied);        // host -> sched.*
  EXPECT_EQ(host->Call(msg::AwardRecordRequest{}).code(), Status::Code::kDenied);
  EXPECT_EQ(host->Call(msg::SubmitJobs{}).code(), Status::Code::kDenied);             // host -> admin.*
  EXPECT_EQ(elrond->Call(msg::EnrollHost{}).code(), Status::Code::kDenied);           // elrond -> admin.*
  msg::HostHello as_elrond;
  as_elrond.host_id = "elrond";
  EXPECT_EQ(elrond->Call(as_elrond).code(), Status::Code::kDenied);                   // elrond -> host.*
  EXPECT_EQ(admin->Call(msg::AwardRecordRequest{}).code(), Status::Code::kDenied);    // admin -> sched.*
  EXPECT_GE(Counter(*admin, "api.refused"), 6);
}

TEST_F(SauronApiTest, UnenrolledKeyCannotConnect) {
  auto admin = Connect(admin_);
  auto stranger = Connect(transport::GenerateKeypair());
  msg::HostHello h;
  h.host_id = "h1";
  EXPECT_EQ(stranger->Call(h, 500).code(), Status::Code::kUnavailable);
  EXPECT_GE(Counter(*admin, "zap.refused"), 1);
  // Enrolled by name but with another key: still refused.
  Enroll(*admin, "h1");
  EXPECT_EQ(stranger->Call(h, 500).code(), Status::Code::kUnavailable);
}

TEST_F(SauronApiTest, BadInputIsCountedAndTheDaemonKeepsAnswering) {
  auto admin = Connect(admin_);
  ASSERT_TRUE(admin->Call(msg::ListRequest{"hosts"}).ok());
  // Garbage, truncated, wrong shape: no reply possible, counted.
  admin->SendRaw("\xff\xfe garbage");
  std::string good = msg::Encode(msg::ListRequest{"hosts"}, 77);
  admin->SendRaw(good.substr(0, good.size() / 2));
  admin->SendRaw(std::string("\x93\x01\xa1x\x05", 5));
  // Unknown version with a readable req_id: an error reply.
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(99);
  pk.pack(std::string("admin.list"));
  pk.pack(uint64_t{4242});
  pk.pack_map(0);
  admin->SendRaw(std::string(buf.data(), buf.size()));
  auto r = admin->Wait(4242);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, static_cast<int>(Status::Code::kInvalid));
  EXPECT_NE(r->error.find("version"), std::string::npos) << r->error;
  // Unknown type and malformed body: error replies.
  msg::StriderHello wrong;  // auction.hello is elrond's, not sauron's
  EXPECT_EQ(admin->Call(wrong).code(), Status::Code::kInvalid);
  msgpack::sbuffer b2;
  msgpack::packer<msgpack::sbuffer> p2(b2);
  p2.pack_array(4);
  p2.pack(msg::kProtocolVersion);
  p2.pack(std::string("admin.list"));
  p2.pack(uint64_t{4343});
  p2.pack_map(1);
  p2.pack(std::string("limit"));
  p2.pack(std::string("not a number"));
  admin->SendRaw(std::string(b2.data(), b2.size()));
  r = admin->Wait(4343);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, static_cast<int>(Status::Code::kInvalid));
  // Multi-frame junk.
  admin->socket().send(zmq::buffer(std::string("a")), zmq::send_flags::sndmore);
  admin->socket().send(zmq::buffer(std::string("b")), zmq::send_flags::none);
  // Invalid job specs are refused whole.
  msg::SubmitJobs submit;
  msg::JobSpec ok, bad;
  ok.id = "fine";
  bad.id = "bad id with spaces";
  submit.jobs = {ok, bad};
  EXPECT_EQ(admin->Call(submit).code(), Status::Code::kInvalid);

  // Still serving, and it counted everything.
  msg::ListRequest req;
  req.what = "jobs";
  msg::Listing listing;
  ASSERT_TRUE(admin->Call(req, &listing).ok());
  EXPECT_TRUE(listing.jobs.empty());
  EXPECT_GE(Counter(*admin, "api.undecodable"), 3);
  EXPECT_GE(Counter(*admin, "api.bad_version"), 1);
  EXPECT_GE(Counter(*admin, "api.unknown_type"), 1);
  EXPECT_GE(Counter(*admin, "api.malformed"), 1);
  EXPECT_GE(Counter(*admin, "api.bad_frames"), 1);
}

// A closed agent connection is news within 30 ms (host.agent_gone); the host
// and its jobs are lost only after the agent grace (2 s by default), which a
// restarted strider uses to adopt its running containers (docs/SCEPTRE.md).
TEST_F(SauronApiTest, ClosedHostConnectionPublishesAgentGoneWithin30msAndHostLostAfterTheGrace) {
  auto admin = Connect(admin_);
  auto elrond = Connect(elrond_);
  auto kp = Enroll(*admin, "h1");
  auto watcher = Watch("");
  auto host = Connect(kp);
  Hello(*host, "h1");
  msg::SubmitJobs submit;
  submit.jobs.resize(1);
  submit.jobs[0].id = "j1";
  ASSERT_TRUE(admin->Call(submit).ok());
  ASSERT_TRUE(elrond->Call(msg::AwardRecordRequest{{{"j1", 0, "h1"}}}).ok());
  while (watcher->Next(50)) {
  }
  int64_t t0 = MonotonicUs();
  host.reset();  // closes the TCP connection, as a killed process's kernel would
  std::optional<msg::Change> gone, lost;
  double gone_ms = 0;
  while (auto c = watcher->Next(3000)) {
    if (c->event.kind == "host.agent_gone" && !gone) {
      gone = c;
      gone_ms = (MonotonicUs() - t0) / 1000.0;
    }
    if (c->event.kind == "host.lost") {
      lost = c;
      break;
    }
  }
  ASSERT_TRUE(gone.has_value());
  std::printf("[ measure  ] connection closed -> host.agent_gone published: %.2f ms\n", gone_ms);
  EXPECT_LT(gone_ms, 30.0);
  EXPECT_EQ(gone->event.host_id, "h1");
  ASSERT_TRUE(lost.has_value());
  double ms = (MonotonicUs() - t0) / 1000.0;
  std::printf("[ measure  ] connection closed -> host.lost published: %.2f ms (agent grace 2000)\n", ms);
  EXPECT_GE(ms, 1900.0);
  EXPECT_LT(ms, 2500.0);
  EXPECT_EQ(lost->event.host_id, "h1");
  ASSERT_TRUE(lost->host.has_value());
  EXPECT_EQ(lost->host->state, "lost");
  auto next = watcher->Next(500);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->event.kind, "job.pending");
  EXPECT_EQ(next->event.seq, lost->event.seq + 1);
}

TEST_F(SauronApiTest, KilledHostProcessIsAgentGoneWithin30msAndLostAfterTheGrace) {
  auto admin = Connect(admin_);
  auto kp = Enroll(*admin, "h1");
  auto watcher = Watch("host.");
  pid_t pid = SpawnHost("h1", kp);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(200ms);
  int64_t t0 = MonotonicUs();
  kill(pid, SIGKILL);
  std::optional<msg::Change> c;
  while ((c = watcher->Next(2000)) && c->event.kind != "host.agent_gone") {
  }
  ASSERT_TRUE(c.has_value());
  double ms = (MonotonicUs() - t0) / 1000.0;
  std::printf("[ measure  ] kill -9 -> host.agent_gone published: %.2f ms\n", ms);
  EXPECT_LT(ms, 30.0);
  EXPECT_EQ(c->event.host_id, "h1");
  while ((c = watcher->Next(3000)) && c->event.kind != "host.lost") {
  }
  ASSERT_TRUE(c.has_value());
  ms = (MonotonicUs() - t0) / 1000.0;
  std::printf("[ measure  ] kill -9 -> host.lost published: %.2f ms (agent grace 2000)\n", ms);
  EXPECT_GE(ms, 1900.0);
}

TEST_F(SauronApiTest, SilentHostIsLostByZmtpHeartbeat) {
  // Application heartbeats every second put the backstop at 3 s: only the
  // ZMTP heartbeat (100 ms, timeout lost_after_ms = 400) can detect it in time.
  // That is sauron without beacons (with them, it sends no ZMTP pings).
  StopDaemon();
  cfg_.sauron.heartbeat_ms = 1000;
  cfg_.sauron.beacon_port = -1;
  StartDaemon();
  auto admin = Connect(admin_);
  auto kp = Enroll(*admin, "h1");
  auto watcher = Watch("host.lost");
  pid_t pid = SpawnHost("h1", kp);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(watcher->Next(10).has_value()) << "no false positive while it heartbeats";
  int64_t t0 = MonotonicUs();
  kill(pid, SIGSTOP);
  auto c = watcher->Next(3000);
  double ms = (MonotonicUs() - t0) / 1000.0;
  kill(pid, SIGKILL);
  ASSERT_TRUE(c.has_value());
  std::printf("[ measure  ] SIGSTOP -> host.lost published: %.1f ms (lost_after_ms 400)\n", ms);
  EXPECT_LT(ms, 1000.0);
  EXPECT_NE(c->event.detail.find("closed"), std::string::npos) << c->event.detail;
}

TEST_F(SauronApiTest, LostHostSaysHelloAgainAndIsUp) {
  auto admin = Connect(admin_);
  auto kp = Enroll(*admin, "h1");
  auto host = Connect(kp);
  Hello(*host, "h1");
  host.reset();
  msg::ListRequest req;
  req.what = "hosts";
  msg::Listing l;
  // Lost once the agent grace (2 s) ran out without a hello.
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(admin->Call(req, &l).ok());
    ASSERT_EQ(l.hosts.size(), 1u);
    if (l.hosts[0].state == "lost") break;
  }
  EXPECT_EQ(l.hosts[0].state, "lost");
  host = Connect(kp);
  Hello(*host, "h1");
  ASSERT_TRUE(admin->Call(req, &l).ok());
  EXPECT_EQ(l.hosts[0].state, "up");
}

// docs/SCEPTRE.md: a restarted agent that says hello within the grace keeps
// its host up and its jobs placed; one that says bye loses them at once.
TEST_F(SauronApiTest, AnAgentBackWithinTheGraceKeepsItsJobsOneThatSaysByeLosesThemAtOnce) {
  auto admin = Connect(admin_);
  auto elrond = Connect(elrond_);
  auto kp = Enroll(*admin, "h1");
  auto host = Connect(kp);
  Hello(*host, "h1");
  msg::SubmitJobs submit;
  submit.jobs.resize(1);
  submit.jobs[0].id = "j1";
  ASSERT_TRUE(admin->Call(submit).ok());
  ASSERT_TRUE(elrond->Call(msg::AwardRecordRequest{{{"j1", 0, "h1"}}}).ok());
  ASSERT_TRUE(host->Call(msg::ClaimRequest{"h1", {{"j1", 1}}}).ok());
  msg::ListRequest req;
  req.what = "hosts";
  msg::Listing l;
  host.reset();  // the agent died
  std::this_thread::sleep_for(500ms);
  host = Connect(kp);
  Hello(*host, "h1");
  for (int i = 0; i < 20; ++i) {  // past the grace of the first disconnect, heartbeating (the backstop)
    std::this_thread::sleep_for(100ms);
    msg::Heartbeat hb;
    hb.host_id = "h1";
    ASSERT_TRUE(host->Call(hb).ok());
  }
  ASSERT_TRUE(admin->Call(req, &l).ok());
  EXPECT_EQ(l.hosts[0].state, "up");
  msg::ListRequest jobs;
  jobs.what = "jobs";
  ASSERT_TRUE(admin->Call(jobs, &l).ok());
  ASSERT_EQ(l.jobs.size(), 1u);
  EXPECT_EQ(l.jobs[0].state, "placed");
  EXPECT_EQ(l.jobs[0].attempt, 1);
  // A clean stop: lost at once, its job pending again.
  ASSERT_TRUE(host->Call(msg::HostBye{"h1", "strider stopped"}).ok());
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(admin->Call(req, &l).ok());
  EXPECT_EQ(l.hosts[0].state, "lost");
  ASSERT_TRUE(admin->Call(jobs, &l).ok());
  EXPECT_EQ(l.jobs[0].state, "pending");
}

TEST_F(SauronApiTest, RestartKeepsStateAndGivesHostsTimeToReturn) {
  auto admin = Connect(admin_);
  auto elrond = Connect(elrond_);
  auto kp = Enroll(*admin, "h1");
  auto host = Connect(kp);
  Hello(*host, "h1");
  msg::SubmitJobs submit;
  submit.jobs.resize(2);
  submit.jobs[0].id = "a";
  submit.jobs[1].id = "b";
  ASSERT_TRUE(admin->Call(submit).ok());
  ASSERT_TRUE(elrond->Call(msg::AwardRecordRequest{{{"a", 0, "h1"}}}).ok());
  msg::ClaimRequest claim{"h1", {{"a", 1}}};
  ASSERT_TRUE(host->Call(claim).ok());
  // Restart sauron while the host stays connected (its DEALER reconnects).
  admin.reset();
  elrond.reset();
  StopDaemon();
  cfg_.sauron.api = "tcp://127.0.0.1:*";
  StartDaemon();
  admin = Connect(admin_);
  msg::Snapshot snap;
  elrond = Connect(elrond_);
  ASSERT_TRUE(elrond->Call(msg::SnapshotRequest{}, &snap).ok());
  ASSERT_EQ(snap.jobs.size(), 2u);
  EXPECT_EQ(snap.jobs[0].state, "placed");
  EXPECT_EQ(snap.jobs[0].attempt, 1);
  EXPECT_EQ(snap.jobs[1].state, "pending");
  ASSERT_EQ(snap.hosts.size(), 1u);
  EXPECT_EQ(snap.hosts[0].state, "up");  // still up: it has the backstop to say hello
  // The new sauron listens on another port, so this host never comes back:
  // lost after the backstop (max(400, 3*100) ms), and its job is handed back.
  std::this_thread::sleep_for(700ms);
  ASSERT_TRUE(elrond->Call(msg::SnapshotRequest{}, &snap).ok());
  EXPECT_EQ(snap.hosts[0].state, "lost");
  EXPECT_EQ(snap.jobs[0].state, "pending");
  EXPECT_EQ(snap.jobs[0].reason, "host h1 lost");
}

TEST_F(SauronApiTest, ConfigHostsTakeEffectWithoutRestart) {
  // A host added to the pod config file while sauron runs.
  StopDaemon();
  auto kp = transport::GenerateKeypair();
  std::string path = (dir_ / "pod.json").string();
  {
    std::ofstream(path) << R"({"sauron": {"api": "tcp://127.0.0.1:*", "pub": "tcp://127.0.0.1:*"}})";
  }
  auto cfg = LoadPodConfig(path);
  ASSERT_TRUE(cfg.ok());
  auto d = Daemon::Create(*cfg, path);
  ASSERT_TRUE(d.ok());
  daemon_ = std::move(*d);
  stop_ = false;
  thread_ = std::thread([this] { daemon_->Run(stop_); });
  std::this_thread::sleep_for(50ms);
  {
    std::ofstream(path) << R"({"sauron": {"api": "tcp://127.0.0.1:*", "pub": "tcp://127.0.0.1:*"},
                             "hosts": [{"id": "cfg1", "public_key": ")"
                        << kp.public_key << R"(", "labels": {"role": "build"}}]})";
  }
  // Make sure the mtime differs from the first write.
  auto t = std::filesystem::last_write_time(path);
  std::filesystem::last_write_time(path, t + 2s);
  bool up = false;
  for (int i = 0; i < 30 && !up; ++i) {
    // libzmq does not reconnect after a ZAP refusal (a protocol error), so a
    // host refused before its enrollment must open a new socket.
    auto host = Connect(kp);
    msg::HostHello h;
    h.host_id = "cfg1";
    msg::HostWelcome w;
    up = host->Call(h, &w, 200).ok();
    if (up) {
      EXPECT_EQ(w.labels["role"], "build");
    }
  }
  EXPECT_TRUE(up);
}

}  // namespace
}  // namespace rv::sauron
