// ApiServer::Handle without a network: authorization and hostile bytes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/transport/curve.h"
#include "common/transport/rpc_client.h"
#include "common/transport/zap.h"
#include "sauron/api_requests.h"
#include "sauron/api_server.h"
#include "sauron/api_test_base.h"

namespace rv::sauron {
namespace {

class DispatchTest : public ApiTestBase {
 protected:
  void SetUp() override {
    ApiTestBase::SetUp();
    StartApi();
    EnrollHost("h1");
  }
};

constexpr int kDenied = static_cast<int>(Status::Code::kDenied);

TEST_F(DispatchTest, AuthorizationByUserId) {
  msg::HostHello hello;
  hello.host_id = "h1";
  EXPECT_EQ(Call("h1", hello).code, 0);
  EXPECT_EQ(Call("h2", hello).code, kDenied);          // not enrolled / impersonation
  EXPECT_EQ(Call("admin", hello).code, kDenied);
  EXPECT_EQ(Call("", hello).code, kDenied);            // no User-Id at all
  EXPECT_EQ(Call("h1", msg::SnapshotRequest{}).code, kDenied);
  EXPECT_EQ(Call("elrond", msg::SnapshotRequest{}).code, 0);
  EXPECT_EQ(Call("elrond", msg::ListRequest{"hosts"}).code, kDenied);
  EXPECT_EQ(Call("admin", msg::ListRequest{"hosts"}).code, 0);
  EXPECT_EQ(Call("admin", msg::ListRequest{"secrets"}).code, static_cast<int>(Status::Code::kInvalid));
  EXPECT_EQ(counters_.Get("api.refused"), 5);
}

// Over a real socket: requests waiting together are handled elrond's first,
// each peer's in its own order, and all of them answered.
TEST_F(DispatchTest, WaitingRequestsAreHandledElrondsFirst) {
  transport::ZapAuthenticator zap(ctx_);
  auto server = transport::GenerateKeypair(), admin_kp = transport::GenerateKeypair(),
       elrond_kp = transport::GenerateKeypair();
  zap.Allow(admin_kp.public_key, "admin");
  zap.Allow(elrond_kp.public_key, "elrond");
  ApiDeps d;
  d.store = store_.get();
  d.liveness = liveness_.get();
  d.counters = &counters_;
  ApiServer api(ctx_, server, d);
  ASSERT_TRUE(api.Bind("tcp://127.0.0.1:*", 0, 0).ok());
  msg::HostHello hello;
  hello.host_id = "h1";
  hello.capacity = hello.free = {4096, 10000, 4000};
  ASSERT_TRUE(store_->HostUp(hello, 1).ok());
  msg::JobSpec a;
  a.id = "a";
  ASSERT_TRUE(store_->SubmitJobs({a}, 1).ok());
  auto client = [&](const transport::CurveKeypair& kp) {
    auto s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    transport::MakeCurveClient(*s, kp, server.public_key);
    s->connect(api.endpoint());
    return s;
  };
  auto admin = client(admin_kp), elrond = client(elrond_kp);
  for (int i = 0; i < 5; ++i) {
    msg::SubmitJobs sub;
    msg::JobSpec spec;
    spec.id = "s" + std::to_string(i);
    sub.jobs.push_back(spec);
    admin->send(zmq::buffer(msg::Encode(sub, 100 + i)), zmq::send_flags::none);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // admin's requests are queued first
  msg::AwardRecordRequest award;
  award.awards.push_back({"a", 0, "h1"});
  elrond->send(zmq::buffer(msg::Encode(award, 7)), zmq::send_flags::none);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(api.DrainRequests(512), 6);
  auto events = store_->ListEvents(0, 100);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> order;
  for (const auto& e : *events) {
    if (e.kind == "job.awarded" || (e.kind == "job.submitted" && e.job_id != "a")) order.push_back(e.job_id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "s0", "s1", "s2", "s3", "s4"}));
  auto replies = [](zmq::socket_t& s, size_t want) {
    std::vector<uint64_t> ids;
    for (int tries = 0; ids.size() < want && tries < 200; ++tries) {
      zmq::message_t m;
      if (!s.recv(m, zmq::recv_flags::dontwait)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      auto env = msg::DecodeEnvelope(m.data(), m.size());
      if (env.ok()) ids.push_back(env->req_id);
    }
    return ids;
  };
  EXPECT_EQ(replies(*elrond, 1), std::vector<uint64_t>{7});
  EXPECT_EQ(replies(*admin, 5), (std::vector<uint64_t>{100, 101, 102, 103, 104}));
}

TEST_F(DispatchTest, OneWayMessagesGetNoReply) {
  msg::HostHello hello;
  hello.host_id = "h1";
  ASSERT_EQ(Call("h1", hello).code, 0);
  msg::Heartbeat hb;
  hb.host_id = "h1";
  std::string bytes = msg::Encode(hb, 0);
  EXPECT_EQ(api_->Handle("h1", "127.0.0.1", bytes.data(), bytes.size()), "");
  EXPECT_EQ(counters_.Get("api.heartbeats"), 1);
}

TEST_F(DispatchTest, ElrondCountersAreListedWithSauronsAndOnlyElrondMayReportThem) {
  msg::SchedCounters c;
  c.counters = {{"bid.ok", 7}, {"auction.resampled", 2}};
  EXPECT_EQ(Call("h1", c).code, kDenied);
  EXPECT_EQ(Call("admin", c).code, kDenied);
  EXPECT_EQ(Call("elrond", c).code, 0);
  c.counters = {{"bid.ok", 9}};  // replaced, not merged: a counter elrond dropped is gone
  EXPECT_EQ(Call("elrond", c).code, 0);

  msg::ListRequest list;
  list.what = "counters";
  msg::Reply r = Call("admin", list);
  ASSERT_EQ(r.code, 0) << r.error;
  auto env = msg::DecodeEnvelope(r.payload);
  ASSERT_TRUE(env.ok());
  msg::Listing l;
  ASSERT_TRUE(msg::DecodeBody(*env, &l).ok());
  EXPECT_EQ(l.counters["elrond.bid.ok"], 9);
  EXPECT_EQ(l.counters.count("elrond.auction.resampled"), 0u);

  msg::SchedCounters flood;
  for (int i = 0; i < 5000; ++i) flood.counters["c" + std::to_string(i)] = i;
  EXPECT_EQ(Call("elrond", flood).code, static_cast<int>(Status::Code::kInvalid));
}

// A handler's bug must fail its one request, not sauron. The hooks the daemon
// gives the handlers stand in for a bug here: one throws inside admin.list
// (nothing written), one after admin.enroll's commit.
class ThrowingHandlerTest : public ApiTestBase {
 protected:
  void SetUp() override {
    ApiTestBase::SetUp();
    deps_.extra_counters = [](std::map<std::string, int64_t>*) { throw std::runtime_error("a bug in a handler"); };
    deps_.on_enrolled = [](const msg::HostRecord&, const msg::HostRecord& after) {
      if (after.id == "h-bad") throw 42;  // not even a std::exception
    };
    StartApi();
  }
};

TEST_F(ThrowingHandlerTest, AHandlerThatThrowsIsAnsweredInternalCountedAndSauronKeepsServing) {
  msg::ListRequest counters;
  counters.what = "counters";
  msg::Reply r = Call("admin", counters);
  EXPECT_EQ(r.code, static_cast<int>(Status::Code::kInternal));
  EXPECT_NE(r.error.find("a bug, logged"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("a bug in a handler"), std::string::npos) << "the exception's text stays in sauron's log";
  EXPECT_EQ(counters_.Get("api.handler_threw"), 1);

  msg::ListRequest hosts;
  hosts.what = "hosts";
  EXPECT_EQ(Call("admin", hosts).code, 0);
}

TEST_F(ThrowingHandlerTest, AThrowThatIsNotAStdExceptionIsCaughtTooAndTheNextWriteSucceeds) {
  msg::EnrollHost bad;
  bad.host_id = "h-bad";
  bad.public_key = transport::GenerateKeypair().public_key;
  EXPECT_EQ(Call("admin", bad).code, static_cast<int>(Status::Code::kInternal));
  EXPECT_EQ(counters_.Get("api.handler_threw"), 1);

  msg::EnrollHost good;
  good.host_id = "h-good";
  good.public_key = transport::GenerateKeypair().public_key;
  msg::Reply r = Call("admin", good);
  EXPECT_EQ(r.code, 0) << r.error;
  EXPECT_NE(store_->FindHost("h-good"), nullptr);
  // Its write was committed before the hook threw: kept, as with a lost reply.
  EXPECT_NE(store_->FindHost("h-bad"), nullptr);
}

// Mutated valid messages of every type, from every kind of peer: whatever
// happens, Handle returns and the store stays usable.
TEST_F(DispatchTest, RandomMutationsNeverCrash) {
  msg::SubmitJobs submit;
  submit.jobs.resize(2);
  submit.jobs[0].id = "a";
  submit.jobs[1].id = "b";
  msg::HostHello hello;
  hello.host_id = "h1";
  hello.jobs = {{"a", 1}};
  std::vector<std::string> seeds = {
      msg::Encode(hello, 1),
      msg::Encode(msg::Heartbeat{"h1", {1, 2, 3}, {}, 4}, 2),
      msg::Encode(msg::ClaimRequest{"h1", {{"a", 1}}}, 3),
      msg::Encode(msg::JobReport{"h1", "a", 1, "running", "x"}, 4),
      msg::Encode(msg::SnapshotRequest{}, 5),
      msg::Encode(msg::AwardRecordRequest{{{"a", 0, "h1"}}}, 6),
      msg::Encode(msg::RevokeRequest{{{"a", 1}}, "r"}, 7),
      msg::Encode(msg::PendingReasonsRequest{{{"b", "no room"}}}, 8),
      msg::Encode(submit, 9),
      msg::Encode(msg::StopJobs{{"a"}}, 10),
      msg::Encode(msg::ListRequest{"events"}, 11),
      msg::Encode(msg::DrainHost{"h1", true}, 12),
  };
  const char* users[] = {"h1", "elrond", "admin", "h2", ""};
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string m = seeds[rng() % seeds.size()];
    int edits = 1 + rng() % 4;
    for (int e = 0; e < edits && !m.empty(); ++e) {
      switch (rng() % 4) {
        case 0: m[rng() % m.size()] = static_cast<char>(rng()); break;
        case 1: m.resize(rng() % m.size()); break;
        case 2: m.insert(rng() % (m.size() + 1), 1, static_cast<char>(rng())); break;
        case 3: m.erase(rng() % m.size(), 1); break;
      }
    }
    (void)api_->Handle(users[rng() % 5], "127.0.0.1", m.data(), m.size());
  }
  EXPECT_GT(counters_.Get("api.undecodable") + counters_.Get("api.malformed"), 0);
  // Handle's catch-all keeps sauron up through a handler's throw: count it
  // here, or such a bug would pass unseen.
  EXPECT_EQ(counters_.Get("api.handler_threw"), 0);
  // Still consistent and serving.
  EXPECT_EQ(Call("admin", msg::ListRequest{"jobs"}).code, 0);
  auto events = store_->ListEvents(0, 0);
  ASSERT_TRUE(events.ok());
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].seq, static_cast<int64_t>(i + 1));
}


// Roles over the request table: a key of one role cannot call another role's
// requests, whichever module registered them.
class RolesTest : public DispatchTest {
 protected:
  // A request of `type` whose body names `user` as its host (so a host's own
  // request passes the host_id check).
  msg::Reply CallType(const std::string& user, const std::string& type) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(4);
    pk.pack(msg::kProtocolVersion);
    pk.pack(type);
    pk.pack(uint64_t{9});
    pk.pack_map(1);
    pk.pack(std::string("host_id"));
    pk.pack(user);
    std::string out = api_->Handle(user, "127.0.0.1", buf.data(), buf.size());
    msg::Reply r;
    auto env = msg::DecodeEnvelope(out);
    EXPECT_TRUE(env.ok());
    if (env.ok()) {
      EXPECT_TRUE(msg::DecodeBody(*env, &r).ok());
    }
    return r;
  }

  // Every row `role` may not call is refused before its handler runs; every
  // row it may call gets past the role check.
  void ExpectOnlyItsOwnRequests(const std::string& user, Role role) {
    ASSERT_EQ(api_->RoleOf(user), role);
    int denied = 0, allowed = 0;
    for (const auto* row : SauronRequests().rows()) {
      int64_t refused_before = counters_.Get("api.refused");
      msg::Reply r = CallType(user, row->type);
      if (row->roles.Has(role)) {
        EXPECT_NE(r.code, kDenied) << RoleName(role) << " may call " << row->type << ": " << r.error;
        ++allowed;
      } else {
        EXPECT_EQ(r.code, kDenied) << RoleName(role) << " called " << row->type;
        EXPECT_NE(r.error.find("is for"), std::string::npos) << r.error;
        EXPECT_EQ(counters_.Get("api.refused"), refused_before + 1) << row->type;
        ++denied;
      }
    }
    EXPECT_GT(denied, 0) << "every role is refused something";
    allowed_ = allowed;
  }

  int allowed_ = 0;
};

TEST_F(RolesTest, AnAdminKeyCallsOnlyAdminRequests) {
  ExpectOnlyItsOwnRequests("admin", Role::kAdmin);
  EXPECT_GT(allowed_, 0);
}

TEST_F(RolesTest, TheSchedulerKeyCallsOnlySchedulerRequests) {
  ExpectOnlyItsOwnRequests("elrond", Role::kScheduler);
  EXPECT_GT(allowed_, 0);
}

TEST_F(RolesTest, AHostKeyCallsOnlyHostRequests) {
  ExpectOnlyItsOwnRequests("h1", Role::kHost);
  EXPECT_GT(allowed_, 0);
}

// The service keys are neither hosts nor operators, whatever their id.
TEST_F(RolesTest, AGitServerKeyIsNotAHostNorAnOperator) { ExpectOnlyItsOwnRequests("gitrecv", Role::kGitrecv); }

TEST_F(RolesTest, ABuilderKeyIsNotAHostNorAnOperator) { ExpectOnlyItsOwnRequests("builder", Role::kBuilder); }

TEST_F(RolesTest, AnUnknownKeyIsRefusedEverything) {
  EXPECT_EQ(api_->RoleOf("h2"), Role::kNone);
  EXPECT_EQ(api_->RoleOf(""), Role::kNone);
  for (const auto* row : SauronRequests().rows()) {
    EXPECT_EQ(CallType("h2", row->type).code, kDenied) << row->type;
    EXPECT_EQ(CallType("", row->type).code, kDenied) << row->type;
  }
}

TEST_F(RolesTest, NoHostMayBeEnrolledUnderAPodKeysName) {
  for (const PodKey& k : PodKeys()) {
    msg::EnrollHost e;
    e.host_id = std::string(k.name);
    e.public_key = transport::GenerateKeypair().public_key;
    EXPECT_FALSE(store_->EnrollHost(e).ok()) << k.name;
    EXPECT_NE(api_->RoleOf(e.host_id), Role::kHost);
  }
}

TEST(RequestTableTest, EveryRowNamesItsRolesAndAHandler) {
  auto rows = SauronRequests().rows();
  EXPECT_GE(rows.size(), 21u);
  for (const auto* row : rows) {
    EXPECT_FALSE(row->roles.empty()) << row->type;
    EXPECT_TRUE(static_cast<bool>(row->handler)) << row->type;
    EXPECT_EQ(SauronRequests().Find(row->type), row);
  }
  EXPECT_EQ(SauronRequests().Find("no.such"), nullptr);
}

TEST(RequestTableTest, OnlyTheHotStoreWritesAreGroupable) {
  const auto& t = SauronRequests();
  for (const char* type : {"host.heartbeat", "job.claim", "job.report", "job.reports", "sched.award", "sched.revoke",
                           "sched.pending", "admin.submit", "admin.stop"}) {
    EXPECT_TRUE(t.groupable(type)) << type;
  }
  for (const char* type : {"host.hello", "host.overlay", "sched.snapshot", "admin.enroll", "admin.config_set",
                           "admin.list", "no.such"}) {
    EXPECT_FALSE(t.groupable(type)) << type;
  }
}

}  // namespace
}  // namespace rv::sauron
