// The names-and-certificates requests through ApiServer::Handle (no network):
// who may ask what, sealing to the asking host, events.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/clock.h"
#include "common/crypto/sealed_box.h"
#include "common/msg/accounts.h"
#include "common/msg/proxy.h"
#include "common/transport/keys.h"
#include "sauron/accounts.h"
#include "sauron/api_requests.h"
#include "sauron/api_server.h"
#include "sauron/api_test_base.h"
#include "sauron/domain_store.h"
#include "sauron/pod_ca.h"

namespace rv::sauron {
namespace {

constexpr int kDenied = static_cast<int>(Status::Code::kDenied);
constexpr int kInvalid = static_cast<int>(Status::Code::kInvalid);
constexpr int kConflict = static_cast<int>(Status::Code::kConflict);

class ApiDomainsTest : public ApiTestBase {
 protected:
  void SetUp() override {
    ApiTestBase::SetUp();
    store_->SetChangeSink([this](const msg::Change& c) { changes_.push_back(c.event); });
    domains_ = std::move(*DomainStore::Open(db_, crypto::SecretBoxKey::Generate()));
    accounts_ = std::move(*Accounts::Open(db_));
    ca_ = std::move(*PodCa::Generate("test pod CA", WallMs()));
    deps_.accounts = accounts_.get();
    deps_.domains = domains_.get();
    deps_.pod_ca = ca_.get();
    deps_.pod_domain = "pod.test";
    StartApi();
    for (const char* h : {"h1", "h2"}) UpHost(h);
    ASSERT_EQ(Call("admin", msg::AppCreate{"acme/prod", "web", "main"}).code, 0);
    ASSERT_EQ(Call("admin", msg::AppCreate{"globex/prod", "web", "main"}).code, 0);
  }
  void TearDown() override {
    api_.reset();
    domains_.reset();
    accounts_.reset();
    ApiTestBase::TearDown();
  }
  void UpHost(const std::string& id) {
    keys_[id] = EnrollHost(id);
    msg::HostHello hello;
    hello.host_id = id;
    hello.address = id == "h1" ? "10.9.0.1" : "10.9.0.2";
    hello.capacity = hello.free = {4096, 10000, 4000};
    ASSERT_TRUE(store_->HostUp(hello, 1000).ok());
  }
  // A running proxy job of `env` on `host`.
  void PlaceProxy(const std::string& id, const std::string& env, const std::string& host) {
    msg::JobSpec s;
    s.id = id;
    s.kind = "proxy";
    s.env = env;
    s.service = "proxy";
    s.port = 8443;
    s.resources = {64, 10, 10};
    ASSERT_TRUE(store_->SubmitJobs({s}, 1).ok());
    ASSERT_TRUE(store_->Award({{id, 0, host}}, 2).at(0).ok);
    ASSERT_TRUE(store_->Claim(host, {{id, 1}}, 3).at(0).ok);
    msg::JobReport r;
    r.host_id = host;
    r.job_id = id;
    r.attempt = 1;
    r.run_state = "running";
    ASSERT_TRUE(store_->Report(r, 4).ok());
  }
  template <typename R, typename T>
  R Ask(const std::string& user, const T& req) {
    msg::Reply r = Call(user, req);
    EXPECT_EQ(r.code, 0) << r.error;
    return Payload<R>(r);
  }
  int DomainsChanged(const std::string& env) {
    int n = 0;
    for (const auto& e : changes_) n += e.kind == "domains.changed" && e.detail == env;
    return n;
  }

  std::map<std::string, transport::CurveKeypair> keys_;
  std::vector<msg::Event> changes_;
  std::unique_ptr<DomainStore> domains_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<PodCa> ca_;
};

TEST_F(ApiDomainsTest, AnAppGetsItsDefaultNameAndAPodCaCertificateAtCreation) {
  auto l = Ask<msg::DomainListing>("admin", msg::DomainListRequest{"acme/prod/web"});
  ASSERT_EQ(l.domains.size(), 1u);
  EXPECT_EQ(l.domains[0].name, "web.prod.acme.pod.test");
  EXPECT_TRUE(l.domains[0].is_default);
  EXPECT_EQ(l.domains[0].issuer, "pod-CA");
  EXPECT_GT(l.domains[0].not_after_ms, WallMs() + 80LL * 86400000);
  EXPECT_EQ(DomainsChanged("acme/prod"), 1);
  EXPECT_EQ(DomainsChanged("globex/prod"), 1);
}

TEST_F(ApiDomainsTest, AProxyHostGetsItsEnvsCertificatesWithKeysSealedToItAlone) {
  PlaceProxy("px1", "acme/prod", "h1");
  auto pc = Ask<msg::ProxyCerts>("h1", msg::ProxyCertsRequest{"h1", "acme/prod"});
  EXPECT_EQ(pc.env, "acme/prod");
  ASSERT_EQ(pc.entries.size(), 1u);
  const auto& e = pc.entries[0];
  EXPECT_EQ(e.name, "web.prod.acme.pod.test");
  EXPECT_EQ(e.app, "acme/prod/web");
  EXPECT_FALSE(e.custom);
  EXPECT_EQ(VerifyAgainstCa(e.cert_pem, ca_->cert_pem(), e.name, WallMs()), "");
  crypto::BoxKeyPair kp{*crypto::DecodeZ85Key(keys_["h1"].public_key), *crypto::DecodeZ85Key(keys_["h1"].secret_key)};
  auto key = crypto::OpenSealed(kp, e.key_sealed);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(CheckOwnCert(e.name, e.cert_pem, *key, WallMs()).ok());
  // Another host's key does not open it.
  crypto::BoxKeyPair h2{*crypto::DecodeZ85Key(keys_["h2"].public_key), *crypto::DecodeZ85Key(keys_["h2"].secret_key)};
  EXPECT_FALSE(crypto::OpenSealed(h2, e.key_sealed).ok());
  // Same content, same version; a new name changes it.
  EXPECT_EQ(Ask<msg::ProxyCerts>("h1", msg::ProxyCertsRequest{"h1", "acme/prod"}).version, pc.version);
  ASSERT_EQ(Call("admin", msg::DomainAdd{"acme/prod/web", "shop.example.com"}).code, 0);
  auto pc2 = Ask<msg::ProxyCerts>("h1", msg::ProxyCertsRequest{"h1", "acme/prod"});
  EXPECT_NE(pc2.version, pc.version);
  EXPECT_EQ(pc2.entries.size(), 2u);
}

TEST_F(ApiDomainsTest, AProxyHostHoldingTheCurrentSetGetsUnchangedWithNothingSealedAndANewSetOnceItChanges) {
  PlaceProxy("px1", "acme/prod", "h1");
  auto pc = Ask<msg::ProxyCerts>("h1", msg::ProxyCertsRequest{"h1", "acme/prod"});
  ASSERT_EQ(pc.entries.size(), 1u);
  EXPECT_FALSE(pc.unchanged);
  int64_t delivered = counters_.Get("certs.delivered");
  auto same = Ask<msg::ProxyCerts>("h1", msg::ProxyCertsRequest{"h1", "acme/prod", pc.version});
  EXPECT_TRUE(same.unchanged);
  EXPECT_EQ(same.version, pc.version);
  EXPECT_TRUE(same.entries.empty());
  EXPECT_EQ(counters_.Get("certs.delivered"), delivered) << "nothing sealed for an unchanged set";
  // An old version gets the whole new set.
  ASSERT_EQ(Call("admin", msg::DomainAdd{"acme/prod/web", "shop.example.com"}).code, 0);
  auto next = Ask<msg::ProxyCerts>("h1", msg::ProxyCertsRequest{"h1", "acme/prod", pc.version});
  EXPECT_FALSE(next.unchanged);
  EXPECT_NE(next.version, pc.version);
  EXPECT_EQ(next.entries.size(), 2u);
  // Holding a version does not get past the checks.
  EXPECT_EQ(Call("h2", msg::ProxyCertsRequest{"h2", "acme/prod", next.version}).code, kDenied);
}

TEST_F(ApiDomainsTest, ProxyCertsAreRefusedToEveryoneElse) {
  PlaceProxy("px1", "acme/prod", "h1");
  int64_t refused = counters_.Get("api.refused");
  EXPECT_EQ(Call("h2", msg::ProxyCertsRequest{"h1", "acme/prod"}).code, kDenied);  // as another host
  EXPECT_EQ(Call("h2", msg::ProxyCertsRequest{"h2", "acme/prod"}).code, kDenied);  // no proxy job there
  EXPECT_EQ(Call("h1", msg::ProxyCertsRequest{"h1", "globex/prod"}).code, kDenied);  // another env
  EXPECT_EQ(Call("edge", msg::ProxyCertsRequest{"h1", "acme/prod"}).code, kDenied);  // the edge: never keys
  EXPECT_EQ(Call("admin", msg::ProxyCertsRequest{"h1", "acme/prod"}).code, kDenied);
  EXPECT_EQ(Call("elrond", msg::ProxyCertsRequest{"h1", "acme/prod"}).code, kDenied);
  EXPECT_EQ(counters_.Get("api.refused"), refused + 6);
}

TEST_F(ApiDomainsTest, TheEdgeGetsRoutesAndEndpointsOnly) {
  PlaceProxy("px1", "acme/prod", "h1");
  PlaceProxy("px2", "acme/prod", "h2");
  auto r = Ask<msg::EdgeRoutes>("edge", msg::EdgeRoutesRequest{});
  ASSERT_EQ(r.routes.size(), 2u);
  EXPECT_EQ(r.routes[0].name, "web.prod.acme.pod.test");
  EXPECT_EQ(r.routes[0].env, "acme/prod");
  EXPECT_EQ(r.routes[1].env, "globex/prod");
  ASSERT_EQ(r.proxies.size(), 1u);
  EXPECT_EQ(r.proxies[0].endpoints, (std::vector<std::string>{"10.9.0.1:8443", "10.9.0.2:8443"}));
  EXPECT_EQ(Call("h1", msg::EdgeRoutesRequest{}).code, kDenied);
  EXPECT_EQ(Call("gitrecv", msg::EdgeRoutesRequest{}).code, kDenied);
  // The edge may not manage names either.
  EXPECT_EQ(Call("edge", msg::DomainAdd{"acme/prod/web", "x.example.com"}).code, kDenied);
  EXPECT_EQ(Call("edge", msg::CertListRequest{}).code, kDenied);
}

TEST_F(ApiDomainsTest, ACustomNameBelongsToOneAppAndIsValidated) {
  ASSERT_EQ(Call("admin", msg::DomainAdd{"acme/prod/web", "shop.example.com"}).code, 0);
  EXPECT_EQ(DomainsChanged("acme/prod"), 2);
  EXPECT_EQ(Call("admin", msg::DomainAdd{"acme/prod/web", "shop.example.com"}).code, 0);  // again: no change
  EXPECT_EQ(DomainsChanged("acme/prod"), 2);
  auto taken = Call("admin", msg::DomainAdd{"globex/prod/web", "shop.example.com"});
  EXPECT_EQ(taken.code, kConflict);
  EXPECT_NE(taken.error.find("another tenant's app"), std::string::npos) << taken.error;
  EXPECT_EQ(taken.error.find("acme"), std::string::npos) << "not named to another tenant: " << taken.error;
  EXPECT_EQ(Call("admin", msg::DomainAdd{"acme/prod/web", "web.prod.globex.pod.test"}).code, kInvalid);
  EXPECT_EQ(Call("admin", msg::DomainAdd{"acme/prod/web", "*.example.com"}).code, kInvalid);
  EXPECT_EQ(Call("admin", msg::DomainAdd{"acme/prod/nope", "n.example.com"}).code,
            static_cast<int>(Status::Code::kNotFound));
  EXPECT_EQ(Call("admin", msg::DomainListRequest{"acme/prod/nope"}).code, static_cast<int>(Status::Code::kNotFound));
  EXPECT_EQ(Call("admin", msg::DomainRemove{"acme/prod/web", "web.prod.acme.pod.test"}).code, kInvalid);
  EXPECT_EQ(Call("admin", msg::DomainRemove{"acme/prod/web", "shop.example.com"}).code, 0);
  EXPECT_EQ(DomainsChanged("acme/prod"), 3);
  EXPECT_EQ(Call("admin", msg::DomainAdd{"globex/prod/web", "shop.example.com"}).code, 0);
}

TEST_F(ApiDomainsTest, TheOperatorsOwnCertificateReplacesThePodCasAndIsChecked) {
  ASSERT_EQ(Call("admin", msg::DomainAdd{"acme/prod/web", "shop.example.com"}).code, 0);
  auto own_ca = std::move(*PodCa::Generate("Operator CA", WallMs()));
  auto own = *own_ca->Issue("shop.example.com", WallMs());
  auto wrong = *own_ca->Issue("other.example.com", WallMs());
  EXPECT_EQ(Call("admin", msg::CertAdd{"shop.example.com", wrong.cert_pem, wrong.key_pem}).code, kInvalid);
  EXPECT_EQ(Call("admin", msg::CertAdd{"shop.example.com", own.cert_pem, wrong.key_pem}).code, kInvalid);
  EXPECT_EQ(Call("admin", msg::CertAdd{"unknown.example.com", own.cert_pem, own.key_pem}).code,
            static_cast<int>(Status::Code::kNotFound));
  auto info = Ask<msg::DomainInfo>("admin", msg::CertAdd{"shop.example.com", own.cert_pem, own.key_pem});
  EXPECT_EQ(info.issuer, "custom");
  EXPECT_NE(info.subject.find("Operator CA"), std::string::npos);
  // Renewal leaves it alone; forced renewal reissues the pod-CA ones only.
  auto renewed = Ask<msg::DomainListing>("admin", msg::CertsRenew{true});
  for (const auto& d : renewed.domains) EXPECT_NE(d.name, "shop.example.com");
  EXPECT_EQ(renewed.domains.size(), 2u);  // the two default names
  auto nothing_due = Ask<msg::DomainListing>("admin", msg::CertsRenew{false});
  EXPECT_TRUE(nothing_due.domains.empty());
  // No key material in any event.
  for (const auto& e : changes_) EXPECT_EQ(e.detail.find("PRIVATE"), std::string::npos);
}

TEST_F(ApiDomainsTest, DestroyingAnAppFreesItsNames) {
  ASSERT_EQ(Call("admin", msg::DomainAdd{"acme/prod/web", "shop.example.com"}).code, 0);
  ASSERT_EQ(Call("admin", msg::AppDestroy{"acme/prod/web"}).code, 0);
  EXPECT_EQ(Call("admin", msg::DomainListRequest{"acme/prod/web"}).code, static_cast<int>(Status::Code::kNotFound));
  for (const auto& d : Ask<msg::DomainListing>("admin", msg::CertListRequest{}).domains) {
    EXPECT_NE(d.app, "acme/prod/web") << d.name;
  }
  EXPECT_EQ(Call("admin", msg::DomainAdd{"globex/prod/web", "shop.example.com"}).code, 0);
}

}  // namespace
}  // namespace rv::sauron
