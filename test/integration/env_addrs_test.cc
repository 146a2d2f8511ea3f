// `rv env:addrs` and `rv env:rotate-key` against a real sauron, with the
// scheduler and two hosts played by this test over the real CURVE API (no
// elrond, no striders: sauron's rules are what is tested). Covers:
//   * env:addrs shows each container's overlay address and host, the env's
//     AEAD and epochs (send epoch starred); an unknown env is a clear error;
//   * the AEAD agreement: a host without AES-NI cannot claim a job of an
//     AES-256-GCM env (claim refused, counted); `rv env:rotate-key` re-chooses
//     ChaCha20-Poly1305 once that host is up, after which its claim succeeds;
//     `--aead aes256gcm` is refused while it runs a container of the env;
//     elrond's snapshot carries the env's AEADs.
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "common/msg/overlay.h"
#include "test/integration/pod_harness.h"
#include "test/integration/shell.h"

namespace rv::test {
namespace {

using rv::test::Output;
using rv::test::Sh;

class EnvAddrs : public PodHarness {
 protected:
  // An RPC client holding `name`'s key (a host, or "elrond").
  std::unique_ptr<transport::RpcClient> As(const std::string& name) {
    auto key = transport::LoadKeypair(dir_ + "/keys/" + name + ".key");
    auto skey = transport::LoadPublicKey(dir_ + "/keys/sauron.key.pub");
    EXPECT_TRUE(key.ok() && skey.ok());
    return std::make_unique<transport::RpcClient>(ctx_, "tcp://127.0.0.1:" + std::to_string(api_port_), *key, *skey,
                                                  name);
  }
  void Hello(transport::RpcClient& c, const std::string& host, bool aesni) {
    msg::HostHello h;
    h.host_id = host;
    h.address = "127.0.0.1";
    h.capacity = {4096, 10000, 4000};
    h.free = h.capacity;
    h.aesni = aesni;
    msg::HostWelcome w;
    ASSERT_TRUE(c.Call(h, &w).ok());
  }
  msg::JobSpec Container(const std::string& id) {
    msg::JobSpec j = SleepJob(id, id);
    j.env = "acme/prod";
    j.image = "stack/busybox:latest";
    return j;
  }
  // elrond's award, then the host's claim; returns the claim's outcome.
  msg::Outcome AwardAndClaim(transport::RpcClient& host_rpc, const std::string& host, const std::string& job,
                             bool award = true) {
    if (award) {
      msg::AwardRecordRequest req;
      req.awards.push_back({job, 0, host});
      msg::Outcomes out;
      EXPECT_TRUE(elrond_->Call(req, &out).ok());
      EXPECT_TRUE(out.results.size() == 1 && out.results[0].ok) << (out.results.empty() ? "" : out.results[0].reason);
    }
    msg::ClaimRequest c;
    c.host_id = host;
    c.claims.push_back({job, 1});
    msg::Outcomes out;
    EXPECT_TRUE(host_rpc.Call(c, &out).ok());
    return out.results.empty() ? msg::Outcome{} : out.results[0];
  }
  Output Rv(const std::string& args) { return Sh(std::string(RV_RV_BIN) + " --pod " + pod_json_ + " " + args); }

  zmq::context_t ctx_;
  std::unique_ptr<transport::RpcClient> elrond_;
};

TEST_F(EnvAddrs, ShowsAddressesAeadAndEpochsAndTheAeadFollowsTheHosts) {
  lost_after_ms_ = 60000;  // the test's hosts send no heartbeats
  WritePod({{"h1", {}}, {"h2", {}}});
  ASSERT_GT(StartSauron({"--overlay-switch-ms", "200", "--overlay-key-grace-ms", "300"}), 0);
  elrond_ = As("elrond");
  auto h1 = As("h1");
  auto h2 = As("h2");
  ASSERT_TRUE(WaitFor([&] { return Rv("hosts").code == 0; }, 5000));
  Hello(*h1, "h1", true);

  ASSERT_TRUE(Submit({Container("x1")}).ok());
  auto o = AwardAndClaim(*h1, "h1", "x1");
  ASSERT_TRUE(o.ok) << o.reason;
  Output addrs;
  ASSERT_TRUE(WaitFor([&] { return (addrs = Rv("env:addrs acme/prod")).text.find("x1") != std::string::npos; }, 5000))
      << addrs.text;
  EXPECT_EQ(addrs.code, 0);
  EXPECT_NE(addrs.text.find("10.240."), std::string::npos) << addrs.text;
  EXPECT_NE(addrs.text.find("aes256gcm"), std::string::npos) << addrs.text;
  EXPECT_NE(addrs.text.find(" 1* "), std::string::npos) << addrs.text;
  EXPECT_NE(addrs.text.find("h1"), std::string::npos) << addrs.text;
  std::cerr << addrs.text;

  Output unknown = Rv("env:addrs acme/nope");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.text.find("environment 'acme/nope' has no overlay network"), std::string::npos) << unknown.text;
  EXPECT_EQ(Rv("env:rotate-key acme/nope").code, 1);
  EXPECT_NE(Rv("env:rotate-key acme/prod --aead des").code, 0) << "CLI checks the AEAD name";

  // h2 comes up without AES-NI: it must not get a container of the AES-GCM env.
  Hello(*h2, "h2", false);
  ASSERT_TRUE(Submit({Container("x2")}).ok());
  o = AwardAndClaim(*h2, "h2", "x2");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.reason.find("no AES-NI on host h2 for environment acme/prod's AES-256-GCM"), std::string::npos)
      << o.reason;
  EXPECT_GE(SauronCounters()["overlay.claim_refused_aead"], 1);
  {
    msg::Snapshot snap;
    ASSERT_TRUE(elrond_->Call(msg::SnapshotRequest{}, &snap).ok());
    EXPECT_EQ(snap.env_aeads["acme/prod"], "aes256gcm") << "elrond learns the env needs AES-NI";
  }

  // A rotation re-chooses from the hosts up: ChaCha20-Poly1305.
  Output rot = Rv("env:rotate-key acme/prod");
  EXPECT_EQ(rot.code, 0) << rot.text;
  EXPECT_NE(rot.text.find("epoch 2 (chacha20poly1305) delivered"), std::string::npos) << rot.text;
  EXPECT_NE(rot.text.find("epoch 1 (aes256gcm)"), std::string::npos) << rot.text;
  // Switched and the old epoch dropped (200 + 300 ms).
  ASSERT_TRUE(WaitFor([&] {
    addrs = Rv("env:addrs acme/prod");
    return addrs.text.find(" 2* ") != std::string::npos && addrs.text.find("aes256gcm") == std::string::npos;
  }, 5000)) << addrs.text;
  EXPECT_NE(addrs.text.find("chacha20poly1305"), std::string::npos) << addrs.text;
  {
    msg::Snapshot snap;
    ASSERT_TRUE(elrond_->Call(msg::SnapshotRequest{}, &snap).ok());
    EXPECT_EQ(snap.env_aeads["acme/prod"], "chacha20poly1305");
  }
  // Now h2 may run it (the award is still h2's, attempt 1).
  o = AwardAndClaim(*h2, "h2", "x2", false);
  EXPECT_TRUE(o.ok) << o.reason;
  ASSERT_TRUE(WaitFor([&] { return (addrs = Rv("env:addrs acme/prod")).text.find("x2") != std::string::npos; }, 5000))
      << addrs.text;
  EXPECT_NE(addrs.text.find("h2"), std::string::npos) << addrs.text;
  // Forcing AES-GCM back is refused while h2 (no AES-NI) runs a container of it.
  Output force = Rv("env:rotate-key acme/prod --aead aes256gcm");
  EXPECT_EQ(force.code, 1) << force.text;
  EXPECT_NE(force.text.find("host h2"), std::string::npos) << force.text;
  // Everything listed (no ENV) includes it.
  EXPECT_NE(Rv("env:addrs").text.find("acme/prod"), std::string::npos);
}

}  // namespace
}  // namespace rv::test
