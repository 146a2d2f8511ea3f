#include "sauron/overlay_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/transport/keys.h"
#include "overlay/keyring.h"

namespace rv::sauron {
namespace {

struct TestHost {
  msg::HostRecord rec;
  overlay::HostKeyPair keys;
};

class OverlayStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rv-ovs-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    opts_.master_key_path = (dir_ / "master.key").string();
    opts_.quarantine_ms = 1000;
    opts_.switch_after_ms = 100;
    opts_.key_grace_ms = 200;
    for (int i = 1; i <= 3; ++i) {
      auto kp = transport::GenerateKeypair();
      TestHost h;
      h.rec.id = "h" + std::to_string(i);
      h.rec.address = "10.88.0." + std::to_string(i);
      h.rec.public_key = kp.public_key;
      h.rec.state = "up";
      h.keys.public_key = *overlay::Z85DecodeKey(kp.public_key);
      h.keys.secret_key = *overlay::Z85DecodeKey(kp.secret_key);
      hosts_.push_back(h);
    }
    Reopen();
  }
  void TearDown() override {
    st_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    st_.reset();
    auto s = OverlayState::Open((dir_ / "db").string(), opts_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    st_ = std::move(*s);
    for (auto& h : hosts_) ASSERT_TRUE(st_->OnHello(h.rec.id, true).ok());
  }
  std::vector<msg::HostRecord> Recs() {
    std::vector<msg::HostRecord> r;
    for (auto& h : hosts_) r.push_back(h.rec);
    return r;
  }
  void Place(const std::string& job, const std::string& env, const std::string& host, int64_t attempt,
             const std::string& state = "placed") {
    msg::Change c;
    msg::JobRecord j;
    j.spec.id = job;
    j.spec.env = env;
    j.spec.image = "stack/busybox:latest";
    j.state = state;
    j.attempt = attempt;
    j.host_id = host;
    c.job = j;
    st_->OnChange(c);
  }
  std::set<std::string> Flush(int64_t now) {
    auto r = st_->Flush(Recs(), now);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::set<std::string>{};
  }
  std::string AddrOf(const std::string& job) {
    for (auto& e : st_->Listing(""))
      for (auto& r : e.routes)
        if (r.job_id == job) return r.addr;
    return "";
  }

  std::filesystem::path dir_;
  OverlayOptions opts_;
  std::vector<TestHost> hosts_;
  std::unique_ptr<OverlayState> st_;
};

TEST_F(OverlayStateTest, MembersGetAddressesAndOnlyTheirHostsGetSealedKeys) {
  Place("x1", "X", "h1", 1);
  Place("x2", "X", "h2", 1);
  Place("y1", "Y", "h1", 1);
  EXPECT_EQ(Flush(1000), (std::set<std::string>{"h1", "h2"}));
  std::string a1 = AddrOf("x1"), a2 = AddrOf("x2"), b1 = AddrOf("y1");
  ASSERT_FALSE(a1.empty());
  EXPECT_NE(a1, a2);
  EXPECT_EQ(a1.rfind("10.240.", 0), 0u);
  EXPECT_NE(a1.substr(0, a1.rfind('.')), b1.substr(0, b1.rfind('.'))) << "envs share a subnet";

  auto v1 = st_->ViewFor("h1", Recs());
  ASSERT_TRUE(v1.ok());
  ASSERT_EQ(v1->envs.size(), 2u);
  auto v3 = st_->ViewFor("h3", Recs());
  ASSERT_TRUE(v3.ok());
  EXPECT_TRUE(v3->envs.empty()) << "h3 runs nothing: no keys";
  // Sealed to h1 only: h1 opens it, h2 cannot.
  const auto& k = v1->envs[0].keys.at(0);
  EXPECT_TRUE(overlay::OpenEnvKey(k.sealed, hosts_[0].keys.public_key, hosts_[0].keys.secret_key).ok());
  EXPECT_FALSE(overlay::OpenEnvKey(k.sealed, hosts_[1].keys.public_key, hosts_[1].keys.secret_key).ok());
  // Views are stable between changes (striders re-apply only on change).
  auto again = st_->ViewFor("h1", Recs());
  EXPECT_EQ(again->envs[0].keys[0].sealed, k.sealed);
  EXPECT_EQ(v1->envs[0].aead, "aes256gcm");
}

TEST_F(OverlayStateTest, MovedContainerGetsNewAddressAndOldOneIsQuarantined) {
  Place("x1", "X", "h1", 1);
  Place("x2", "X", "h2", 1);
  Flush(1000);
  std::string old = AddrOf("x2");
  Place("x2", "X", "", 1, "pending");
  EXPECT_EQ(Flush(1100), (std::set<std::string>{"h1", "h2"}));
  EXPECT_EQ(AddrOf("x2"), "");
  auto v2 = st_->ViewFor("h2", Recs());
  EXPECT_TRUE(v2->envs.empty()) << "h2 no longer runs X: it must forget the key";
  Place("x2", "X", "h3", 2);
  EXPECT_EQ(Flush(1200), (std::set<std::string>{"h1", "h3"}));
  EXPECT_NE(AddrOf("x2"), old) << "reused inside the quarantine";
  auto v1 = st_->ViewFor("h1", Recs());
  bool found = false;
  for (auto& r : v1->envs[0].routes) found |= r.job_id == "x2" && r.host_id == "h3";
  EXPECT_TRUE(found);
}

TEST_F(OverlayStateTest, AStoppedJobKeepsItsRouteForTheLingerSoItsHostCanDrainIt) {
  opts_.linger_ms = 3000;
  Reopen();
  Place("x1", "X", "h1", 1);
  Place("x2", "X", "h2", 1);
  Place("x3", "X", "h3", 1);
  Flush(1000);
  std::string addr = AddrOf("x2");
  Place("x2", "X", "h2", 1, "stopped");
  EXPECT_TRUE(Flush(1100).empty()) << "no view changes while the stopped replica drains";
  EXPECT_EQ(AddrOf("x2"), addr);
  auto v1 = st_->ViewFor("h1", Recs());
  bool found = false;
  for (auto& r : v1->envs[0].routes) found |= r.job_id == "x2" && r.host_id == "h2";
  EXPECT_TRUE(found) << "a proxy on h1 must still reach x2 during its drain";
  EXPECT_FALSE(st_->ViewFor("h2", Recs())->envs.empty()) << "h2 keeps the env's keys while x2 drains";
  EXPECT_TRUE(st_->NeedsFlush());
  EXPECT_TRUE(Flush(4099).empty());
  EXPECT_EQ(Flush(4100), (std::set<std::string>{"h1", "h2", "h3"}));
  EXPECT_EQ(AddrOf("x2"), "");
  EXPECT_FALSE(st_->NeedsFlush());
  // Moved (back to pending, a lost host) is not a drain: released at once.
  Place("x3", "X", "", 1, "pending");
  EXPECT_EQ(Flush(4200), (std::set<std::string>{"h1", "h3"}));
  EXPECT_EQ(AddrOf("x3"), "");
}

TEST_F(OverlayStateTest, RotationDeliversThenSwitchesThenForgets) {
  Place("x1", "X", "h1", 1);
  Place("x2", "X", "h2", 1);
  Flush(1000);
  auto r = st_->Rotate("X", Recs(), 2000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->old_epoch, 1u);
  EXPECT_EQ(r->new_epoch, 2u);
  EXPECT_EQ(Flush(2000), (std::set<std::string>{"h1", "h2"}));
  auto v = st_->ViewFor("h1", Recs());
  EXPECT_EQ(v->envs[0].send_epoch, 1u);
  ASSERT_EQ(v->envs[0].keys.size(), 2u);
  EXPECT_TRUE(st_->Tick(2050)->empty());
  EXPECT_EQ(*st_->Tick(2100), (std::set<std::string>{"h1", "h2"}));
  v = st_->ViewFor("h1", Recs());
  EXPECT_EQ(v->envs[0].send_epoch, 2u);
  EXPECT_EQ(v->envs[0].keys.size(), 2u);
  EXPECT_EQ(*st_->Tick(2300), (std::set<std::string>{"h1", "h2"}));
  v = st_->ViewFor("h1", Recs());
  ASSERT_EQ(v->envs[0].keys.size(), 1u);
  EXPECT_EQ(v->envs[0].keys[0].epoch, 2u);
  EXPECT_FALSE(st_->Rotate("nope", Recs(), 3000).ok());
}

TEST_F(OverlayStateTest, RestartKeepsAddressesKeysAndQuarantine) {
  Place("x1", "X", "h1", 1);
  Place("x2", "X", "h2", 1);
  Flush(1000);
  std::string a1 = AddrOf("x1");
  auto before = st_->ViewFor("h1", Recs());
  overlay::HostKeyPair& k = hosts_[0].keys;
  auto key_before = overlay::OpenEnvKey(before->envs[0].keys[0].sealed, k.public_key, k.secret_key);
  Reopen();
  msg::JobRecord j1, j2;
  j1.spec.id = "x1"; j1.spec.env = "X"; j1.spec.image = "i"; j1.state = "placed"; j1.attempt = 1; j1.host_id = "h1";
  j2 = j1; j2.spec.id = "x2"; j2.host_id = "h2";
  st_->Load({j1, j2});
  Flush(1500);
  EXPECT_EQ(AddrOf("x1"), a1);
  auto after = st_->ViewFor("h1", Recs());
  auto key_after = overlay::OpenEnvKey(after->envs[0].keys[0].sealed, k.public_key, k.secret_key);
  ASSERT_TRUE(key_before.ok() && key_after.ok());
  EXPECT_EQ(key_before->key, key_after->key);
  // Keys are not stored in the clear.
  std::string db;
  {
    FILE* f = fopen((dir_ / "db").c_str(), "rb");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) db.append(buf, n);
    fclose(f);
  }
  std::string raw(reinterpret_cast<const char*>(key_after->key.data()), key_after->key.size());
  EXPECT_EQ(db.find(raw), std::string::npos);
}

TEST_F(OverlayStateTest, AHostWithoutAesniUpMakesNewEnvsChaCha) {
  ASSERT_TRUE(st_->OnHello("h3", false).ok());
  Place("x1", "X", "h1", 1);
  Flush(1000);
  auto v = st_->ViewFor("h1", Recs());
  ASSERT_EQ(v->envs.size(), 1u);
  EXPECT_EQ(v->envs[0].aead, "chacha20poly1305");
  EXPECT_EQ(v->envs[0].keys[0].aead, "chacha20poly1305");
  auto k = overlay::OpenEnvKey(v->envs[0].keys[0].sealed, hosts_[0].keys.public_key, hosts_[0].keys.secret_key);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->aead, overlay::AeadKind::kChaCha20Poly1305) << "the sealed key names the same AEAD";
  EXPECT_EQ(st_->ClaimRefusal("h3", "X"), "");
  // A host not up does not count; one that runs a container does, up or not.
  hosts_[2].rec.state = "lost";
  Place("y1", "Y", "h1", 1);
  Flush(1100);
  EXPECT_EQ(st_->AeadsOf("Y"), "aes256gcm");
  Place("z1", "Z", "h3", 1);
  Flush(1200);
  EXPECT_EQ(st_->AeadsOf("Z"), "chacha20poly1305") << "h3 runs it and has no AES-NI";
}

TEST_F(OverlayStateTest, RotationReChoosesTheAeadAndClaimsFollowIt) {
  Place("x1", "X", "h1", 1);
  Place("x2", "X", "h2", 1);
  Flush(1000);
  EXPECT_EQ(st_->AeadsOf("X"), "aes256gcm");
  EXPECT_EQ(st_->TakeAeadChanges(), (std::map<std::string, std::string>{{"X", "aes256gcm"}}));
  EXPECT_TRUE(st_->TakeAeadChanges().empty()) << "reported once";
  // h3 comes up without AES-NI: X cannot go there yet.
  ASSERT_TRUE(st_->OnHello("h3", false).ok());
  EXPECT_NE(st_->ClaimRefusal("h3", "X").find("no AES-NI on host h3 for environment X's AES-256-GCM"),
            std::string::npos);
  EXPECT_EQ(st_->ClaimRefusal("h1", "X"), "");
  EXPECT_EQ(st_->ClaimRefusal("h3", "no-network-yet"), "");
  // A rotation re-chooses from the hosts up: ChaCha20 for the new epoch.
  auto r = st_->Rotate("X", Recs(), 2000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->old_aead, "aes256gcm");
  EXPECT_EQ(r->new_aead, "chacha20poly1305");
  EXPECT_EQ(st_->AeadsOf("X"), "aes256gcm,chacha20poly1305");
  EXPECT_EQ(st_->TakeAeadChanges(), (std::map<std::string, std::string>{{"X", "aes256gcm,chacha20poly1305"}}));
  auto v = st_->ViewFor("h1", Recs());
  ASSERT_EQ(v->envs[0].keys.size(), 2u);
  EXPECT_EQ(v->envs[0].aead, "aes256gcm") << "senders stay on epoch 1 until the switch";
  EXPECT_EQ(v->envs[0].keys[0].epoch, 2u);
  EXPECT_EQ(v->envs[0].keys[0].aead, "chacha20poly1305");
  EXPECT_EQ(v->envs[0].keys[1].aead, "aes256gcm");
  auto k2 = overlay::OpenEnvKey(v->envs[0].keys[0].sealed, hosts_[0].keys.public_key, hosts_[0].keys.secret_key);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(k2->aead, overlay::AeadKind::kChaCha20Poly1305);
  EXPECT_FALSE(st_->ClaimRefusal("h3", "X").empty()) << "epoch 1 (AES-GCM) is still held";
  // Switch: both ends send with ChaCha20 from epoch 2.
  st_->Tick(2100);
  v = st_->ViewFor("h1", Recs());
  EXPECT_EQ(v->envs[0].send_epoch, 2u);
  EXPECT_EQ(v->envs[0].aead, "chacha20poly1305");
  // Old epoch dropped: h3 may now run X.
  st_->Tick(2300);
  EXPECT_EQ(st_->AeadsOf("X"), "chacha20poly1305");
  EXPECT_EQ(st_->ClaimRefusal("h3", "X"), "");
  EXPECT_EQ(st_->TakeAeadChanges(), (std::map<std::string, std::string>{{"X", "chacha20poly1305"}}));
  EXPECT_EQ(st_->EnvAeads(), (std::map<std::string, std::string>{{"X", "chacha20poly1305"}}));
  // The per-epoch AEAD survives a restart.
  Reopen();
  ASSERT_TRUE(st_->OnHello("h3", false).ok());
  EXPECT_EQ(st_->AeadsOf("X"), "chacha20poly1305");
}

TEST_F(OverlayStateTest, RotationCanForceTheAead) {
  Place("x1", "X", "h1", 1);
  Flush(1000);
  EXPECT_FALSE(st_->Rotate("X", Recs(), 2000, "des").ok());
  auto r = st_->Rotate("X", Recs(), 2000, "chacha20poly1305");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->new_aead, "chacha20poly1305") << "forced although every host has AES-NI";
  st_->Tick(2100);
  st_->Tick(2300);
  EXPECT_EQ(st_->AeadsOf("X"), "chacha20poly1305");
  // Forcing AES-GCM is refused while a host of the env lacks AES-NI.
  ASSERT_TRUE(st_->OnHello("h1", false).ok());
  auto bad = st_->Rotate("X", Recs(), 3000, "aes256gcm");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("h1"), std::string::npos) << bad.status().message();
  EXPECT_EQ(st_->AeadsOf("X"), "chacha20poly1305") << "a refused rotation changes nothing";
  ASSERT_TRUE(st_->OnHello("h1", true).ok());
  r = st_->Rotate("X", Recs(), 3000, "aes256gcm");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->new_aead, "aes256gcm");
}

}  // namespace
}  // namespace rv::sauron
