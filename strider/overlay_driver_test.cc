#include "strider/overlay_driver.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "common/clock.h"
#include "common/event_kinds.h"
#include "common/msg/envelope.h"
#include "common/msg/topics.h"
#include "common/transport/curve.h"
#include "common/transport/rpc_client.h"
#include "common/transport/zap.h"
#include "overlay/control.h"
#include "overlay/keyring.h"
#include "strider/container/container_runtime.h"

namespace rv::strider {
namespace {

// Host h1's view of env X (num 3, 10.240.2.0/24, one epoch keyed with `k`
// sealed to `me`); each test sets the hosts and the routes.
msg::OverlayView ViewOfEnvX(const overlay::HostKeyPair& me, const overlay::EnvKey& k) {
  msg::OverlayView v;
  v.host_id = "h1";
  v.host_num = 1;
  v.pod_cidr = "10.240.0.0/16";
  v.port = 7800;
  msg::OverlayEnv e;
  e.env = "X";
  e.num = 3;
  e.subnet = "10.240.2.0/24";
  e.aead = "chacha20poly1305";
  e.send_epoch = 1;
  e.keys.push_back({1, *overlay::SealEnvKey(k, me.public_key), "chacha20poly1305"});
  v.envs.push_back(e);
  return v;
}

TEST(OverlayDriver, ControlDocumentFromViewParsesAndAttachesOnlyLocalContainers) {
  overlay::HostKeyPair me = overlay::NewHostKeyPair();
  overlay::EnvKey k = overlay::NewEnvKey(3, 1, overlay::AeadKind::kChaCha20Poly1305);
  msg::OverlayView v = ViewOfEnvX(me, k);
  v.hosts = {{"h1", 1, "10.88.0.1:7800"}, {"h2", 2, "10.88.0.2:7800"}};
  v.envs[0].routes = {{"10.240.2.1", "h1", "x1", 1}, {"10.240.2.2", "h2", "x2", 1}, {"10.240.2.3", "h1", "x3", 1}};
  std::map<std::string, LocalAttachment> locals;
  std::string id1 = container::ContainerIdFor("x1");
  locals[id1] = {id1, "X", "/var/run/netns/" + id1, 7};
  std::string other = container::ContainerIdFor("y9");
  locals[other] = {other, "Y", "/var/run/netns/" + other, 8};
  std::set<std::string> attached;
  std::string doc = BuildControlDocument(v, "10.88.0.1", 1500, locals, &attached);
  EXPECT_EQ(attached, (std::set<std::string>{id1}));
  auto c = overlay::ParseControl(doc, &me);
  ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << doc;
  EXPECT_EQ(c->host_id, 1u);
  ASSERT_EQ(c->envs.size(), 1u);
  EXPECT_EQ(c->envs[0].keys.at(0).key, k.key) << "the sealed key opens with this host's key";
  ASSERT_EQ(c->envs[0].attachments.size(), 1u);
  EXPECT_EQ(c->envs[0].attachments[0].netns, "/var/run/netns/" + id1);
  // x3 is placed here but has no netns yet: no attachment; x2 is routed to h2.
  ASSERT_EQ(c->envs[0].routes.size(), 1u);
  EXPECT_EQ(c->envs[0].routes[0].host_id, 2u);
  EXPECT_TRUE(c->gateway_ports.empty()) << "default: nothing but ping on the gateway";
  // A foreign host cannot open the document's keys.
  overlay::HostKeyPair stranger = overlay::NewHostKeyPair();
  EXPECT_FALSE(overlay::ParseControl(doc, &stranger).ok());
}

// overlayd refuses a whole config with one bad endpoint, and a JSON writer
// throws on bytes that are not UTF-8: such a peer is left out, with its routes.
TEST(OverlayDriver, APeerWhoseEndpointIsNotIpPortIsLeftOutWithItsRoutes) {
  overlay::HostKeyPair me = overlay::NewHostKeyPair();
  overlay::EnvKey k = overlay::NewEnvKey(3, 1, overlay::AeadKind::kChaCha20Poly1305);
  msg::OverlayView v = ViewOfEnvX(me, k);
  v.hosts = {{"h1", 1, "10.88.0.1:7800"}, {"h2", 2, "caf\xe9:7800"}, {"h3", 3, "example.com:7800"},
             {"h4", 4, "10.88.0.4:7800"}};
  v.envs[0].routes = {{"10.240.2.2", "h2", "x2", 1}, {"10.240.2.3", "h3", "x3", 1}, {"10.240.2.4", "h4", "x4", 1}};
  std::string doc;
  ASSERT_NO_THROW(doc = BuildControlDocument(v, "10.88.0.1", 1500, {}, nullptr));
  auto c = overlay::ParseControl(doc, &me);
  ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << doc;
  ASSERT_EQ(c->hosts.size(), 2u);
  ASSERT_EQ(c->envs[0].routes.size(), 1u);
  EXPECT_EQ(c->envs[0].routes[0].host_id, 4u);
}

// The veth name is the container's address and netns generation: two striders
// that read the same adopt record name it alike, so overlayd keeps its
// plumbing across a live restore (docs/SCEPTRE.md).
TEST(OverlayDriver, AnAttachmentsVethIsNamedAfterItsAddressAndNetnsGenerationOnly) {
  msg::OverlayView v;
  v.host_id = "h1";
  v.host_num = 1;
  v.pod_cidr = "10.240.0.0/16";
  v.port = 7800;
  v.hosts = {{"h1", 1, "10.88.0.1:7800"}};
  msg::OverlayEnv e;
  e.env = "X";
  e.num = 3;
  e.subnet = "10.240.2.0/24";
  e.aead = "chacha20poly1305";
  e.send_epoch = 1;
  e.routes = {{"10.240.2.1", "h1", "x1", 1}};
  v.envs.push_back(e);
  std::string id1 = container::ContainerIdFor("x1");
  auto veth_for = [&](int64_t generation) {
    std::map<std::string, LocalAttachment> locals;
    locals[id1] = {id1, "X", "/var/run/netns/" + id1, generation};
    auto j = nlohmann::json::parse(BuildControlDocument(v, "10.88.0.1", 1500, locals, nullptr));
    return j["envs"][0]["attachments"][0]["veth"].get<std::string>();
  };
  EXPECT_EQ(veth_for(0xfffe), "ov0af00201fffe");
  EXPECT_EQ(veth_for(1), "ov0af002010001");
  EXPECT_EQ(veth_for(1), veth_for(1)) << "the same record, the same name";
  EXPECT_NE(veth_for(2), veth_for(1)) << "a re-made netns is plumbed afresh";
}

// A rotation that switches AEAD: each epoch carries its own, and sauron's
// gateway ports reach overlayd.
TEST(OverlayDriver, ControlDocumentCarriesPerEpochAeadAndGatewayPorts) {
  overlay::HostKeyPair me = overlay::NewHostKeyPair();
  overlay::EnvKey k1 = overlay::NewEnvKey(3, 1, overlay::AeadKind::kAes256Gcm);
  overlay::EnvKey k2 = overlay::NewEnvKey(3, 2, overlay::AeadKind::kChaCha20Poly1305);
  msg::OverlayView v;
  v.host_id = "h1";
  v.host_num = 1;
  v.pod_cidr = "10.240.0.0/16";
  v.port = 7800;
  v.gateway_ports = {"tcp/53", "udp/53"};
  msg::OverlayEnv e;
  e.env = "X";
  e.num = 3;
  e.subnet = "10.240.2.0/24";
  e.aead = "aes256gcm";
  e.send_epoch = 1;
  e.keys.push_back({2, *overlay::SealEnvKey(k2, me.public_key), "chacha20poly1305"});
  e.keys.push_back({1, *overlay::SealEnvKey(k1, me.public_key), "aes256gcm"});
  v.envs.push_back(e);
  std::string doc = BuildControlDocument(v, "10.88.0.1", 1500, {}, nullptr);
  auto c = overlay::ParseControl(doc, &me);
  ASSERT_TRUE(c.ok()) << c.status().message() << "\n" << doc;
  ASSERT_EQ(c->envs[0].keys.size(), 2u);
  EXPECT_EQ(c->envs[0].keys[0].aead, overlay::AeadKind::kChaCha20Poly1305);
  EXPECT_EQ(c->envs[0].keys[1].aead, overlay::AeadKind::kAes256Gcm);
  ASSERT_EQ(c->gateway_ports.size(), 2u);
  EXPECT_EQ(overlay::FormatGatewayPort(c->gateway_ports[1]), "udp/53");
}

// sauron's API as the driver sees it: answers every request with an empty
// overlay view and counts the requests (each is one fetch of the view).
class FakeSauronApi {
 public:
  FakeSauronApi(zmq::context_t& ctx, const transport::CurveKeypair& key) : router(ctx, zmq::socket_type::router) {
    transport::SetDefaults(router);
    transport::MakeCurveServer(router, key);
    router.bind("tcp://127.0.0.1:*");
    endpoint = router.get(zmq::sockopt::last_endpoint);
    th = std::thread([this] { Serve(); });
  }
  ~FakeSauronApi() {
    stop = true;
    th.join();
  }
  void Serve() {
    while (!stop) {
      zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(10));
      zmq::message_t id, body;
      if (!router.recv(id, zmq::recv_flags::dontwait) || !id.more()) continue;
      if (!router.recv(body, zmq::recv_flags::dontwait)) continue;
      auto env = msg::DecodeEnvelope(body.data(), body.size());
      if (!env.ok()) continue;
      ++fetches;
      std::string reply = transport::EncodeReplyWith(env->req_id, msg::OverlayView{});
      router.send(id, zmq::send_flags::sndmore);
      router.send(zmq::buffer(reply), zmq::send_flags::none);
    }
  }
  zmq::socket_t router;
  std::string endpoint;
  std::atomic<int> fetches{0};
  std::atomic<bool> stop{false};
  std::thread th;
};

// A strider started before sauron knew its key: its overlay.changed
// subscription was refused (libzmq never retries that), and must be heard
// once the key is allowed, not only at the next slow refresh.
TEST(OverlayDriver, HearsOverlayChangedAfterARefusedHandshakeOnceItsKeyIsAllowed) {
  auto server = transport::GenerateKeypair();
  auto host = transport::GenerateKeypair();
  zmq::context_t ctx = transport::MakeContext(1);      // the driver's and the API's: no ZAP, all allowed
  zmq::context_t pub_ctx = transport::MakeContext(1);  // the change stream's: ZAP refuses unknown keys
  transport::ZapAuthenticator zap(pub_ctx);
  zmq::socket_t pub(pub_ctx, zmq::socket_type::pub);
  transport::SetDefaults(pub);
  transport::MakeCurveServer(pub, server);
  pub.bind("tcp://127.0.0.1:*");
  FakeSauronApi api(ctx, server);

  OverlayDriverOptions o;
  o.host_id = "h1";
  o.address = "127.0.0.1";
  o.key = host;
  o.sauron_api = api.endpoint;
  o.sauron_pub = pub.get(zmq::sockopt::last_endpoint);
  o.sauron_public_key = server.public_key;
  o.overlayd_socket = "/nonexistent/rv-overlayd-" + std::to_string(getpid());  // applies fail: fine here
  o.refresh_ms = 600000;  // no fetch from the safety net during the test
  o.keepalive_ms = 0;
  {
    OverlayDriver driver(ctx, o);
    driver.Start();
    int64_t end = MonotonicMs() + 5000;
    while ((zap.refused() == 0 || api.fetches.load() == 0) && MonotonicMs() < end) usleep(10000);
    ASSERT_GT(zap.refused(), 0) << "the change stream was not refused";
    ASSERT_GT(api.fetches.load(), 0) << "no fetch at start";
    int fetched = api.fetches.load();
    zap.Allow(host.public_key, "h1");
    msg::Change c;
    c.event.kind = event_kind::kOverlayChanged;
    c.event.detail = "h0,h1";
    std::string body = msg::Encode(c);
    end = MonotonicMs() + 10000;
    while (api.fetches.load() == fetched && MonotonicMs() < end) {
      pub.send(zmq::buffer(msg::HostTopic("h1", event_kind::kOverlayChanged)), zmq::send_flags::sndmore);
      pub.send(zmq::buffer(body), zmq::send_flags::none);
      usleep(50000);
    }
    EXPECT_GT(api.fetches.load(), fetched) << "overlay.changed not heard within 10 s of the key being allowed";
  }
}

// The same for the view itself: sauron's API refused the strider's first
// CURVE handshake (its key not enrolled yet); once the key is allowed the
// driver reads the view, on a fresh socket, without a restart.
TEST(OverlayDriver, ReadsTheViewAfterARefusedHandshakeOnceItsKeyIsAllowed) {
  auto server = transport::GenerateKeypair();
  auto host = transport::GenerateKeypair();
  zmq::context_t ctx = transport::MakeContext(1);      // the driver's
  zmq::context_t api_ctx = transport::MakeContext(1);  // sauron's API: ZAP refuses unknown keys
  transport::ZapAuthenticator zap(api_ctx);
  FakeSauronApi api(api_ctx, server);

  OverlayDriverOptions o;
  o.host_id = "h1";
  o.address = "127.0.0.1";
  o.key = host;
  o.sauron_api = api.endpoint;
  o.sauron_public_key = server.public_key;
  o.overlayd_socket = "/nonexistent/rv-overlayd-" + std::to_string(getpid());
  o.refresh_ms = 600000;
  o.keepalive_ms = 0;
  {
    OverlayDriver driver(ctx, o);
    driver.Start();
    int64_t end = MonotonicMs() + 5000;
    while (zap.refused() == 0 && MonotonicMs() < end) usleep(10000);
    ASSERT_GT(zap.refused(), 0) << "the API handshake was not refused";
    EXPECT_EQ(api.fetches.load(), 0);
    zap.Allow(host.public_key, "h1");
    end = MonotonicMs() + 15000;  // the refused call times out (3 s), then a fresh socket
    while (api.fetches.load() == 0 && MonotonicMs() < end) usleep(20000);
    EXPECT_GT(api.fetches.load(), 0) << "the view was not read within 15 s of the key being allowed";
  }
}

}  // namespace
}  // namespace rv::strider
