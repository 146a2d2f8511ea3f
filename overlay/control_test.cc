#include "overlay/control.h"

#include <gtest/gtest.h>

using namespace rv::overlay;

namespace {
const char* kDoc = R"({
  "host_id": 1, "listen": "10.88.0.1:7800", "underlay_mtu": 1500,
  "pod_cidr": "10.250.0.0/16",
  "hosts": [{"id": 1, "endpoint": "10.88.0.1:7800"}, {"id": 2, "endpoint": "10.88.0.2:7800"}],
  "envs": [{"id": 7, "subnet": "10.250.7.0/24", "aead": "chacha20poly1305",
            "keys": [{"epoch": 1, "key": "0000000000000000000000000000000000000000000000000000000000000001"}],
            "routes": [{"addr": "10.250.7.5", "host": 2}],
            "attachments": [{"addr": "10.250.7.4", "veth": "rvh1", "netns": "c1"}]}]
})";
}

TEST(Control, ParsesDocument) {
  auto c = ParseControl(kDoc, nullptr);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host_id, 1u);
  EXPECT_EQ(c->InnerMtu(), 1500 - kOverhead);
  ASSERT_EQ(c->envs.size(), 1u);
  EXPECT_EQ(c->envs[0].aead, AeadKind::kChaCha20Poly1305);
  EXPECT_EQ(c->envs[0].keys[0].key[31], 1);
  EXPECT_EQ(c->envs[0].attachments[0].ifname, "eth0");
}

TEST(Control, RefusesBadDocuments) {
  std::string doc = kDoc;
  auto bad = [&](const std::string& from, const std::string& to) {
    std::string d = doc;
    auto p = d.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    d.replace(p, from.size(), to);
    auto c = ParseControl(d, nullptr);
    EXPECT_FALSE(c.ok()) << to;
  };
  bad("\"host_id\": 1", "\"host_idd\": 1");                 // unknown field
  bad("10.88.0.1:7800\", \"underlay", "10.88.0.1\", \"underlay");  // no port
  bad("10.250.7.0/24", "10.251.7.0/24");                    // outside pod
  bad("10.250.7.5", "10.250.8.5");                          // route outside subnet
  bad("\"rvh1\"", "\"a;rm -rf /\"");                        // interface name
  bad("\"c1\"", "\"../../etc\"");
  bad("0000000000000000000000000000000000000000000000000000000000000001", "00");
  bad("\"aead\": \"chacha20poly1305\"", "\"aead\": \"des\"");
  EXPECT_FALSE(ParseControl("{", nullptr).ok());
  EXPECT_FALSE(ParseControl("[]", nullptr).ok());
}

TEST(Control, SealedKeyForThisHostOnly) {
  auto host = NewHostKeyPair();
  auto other = NewHostKeyPair();
  EnvKey k = NewEnvKey(7, 1, AeadKind::kChaCha20Poly1305);
  std::string doc = kDoc;
  std::string plain = "\"key\": \"0000000000000000000000000000000000000000000000000000000000000001\"";
  doc.replace(doc.find(plain), plain.size(), "\"sealed\": \"" + ToHex(*SealEnvKey(k, host.public_key)) + "\"");
  auto c = ParseControl(doc, &host);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->envs[0].keys[0].key, k.key);
  EXPECT_FALSE(ParseControl(doc, &other).ok());
  EXPECT_FALSE(ParseControl(doc, nullptr).ok());
  EnvKey wrong_env = k;
  wrong_env.env_id = 8;  // a key sealed for another env cannot be replayed as this one's
  std::string d2 = kDoc;
  d2.replace(d2.find(plain), plain.size(), "\"sealed\": \"" + ToHex(*SealEnvKey(wrong_env, host.public_key)) + "\"");
  EXPECT_FALSE(ParseControl(d2, &host).ok());
}

// A rotation that switches AEAD: the old epoch keeps its algorithm, the new
// one names its own; "aead" is the send epoch's.
TEST(Control, EpochsMayUseDifferentAeads) {
  auto host = NewHostKeyPair();
  EnvKey old_k = NewEnvKey(7, 1, AeadKind::kAes256Gcm);
  EnvKey new_k = NewEnvKey(7, 2, AeadKind::kChaCha20Poly1305);
  auto doc = [&](const std::string& env_aead, int send, const std::string& new_aead_field) {
    return std::string(R"({"host_id": 1, "listen": "10.88.0.1:7800", "pod_cidr": "10.250.0.0/16",
      "envs": [{"id": 7, "subnet": "10.250.7.0/24", "aead": ")") + env_aead + R"(", "send_epoch": )" +
           std::to_string(send) + R"(,
        "keys": [{"epoch": 2, "sealed": ")" + ToHex(*SealEnvKey(new_k, host.public_key)) + "\"" + new_aead_field +
           R"(},
                 {"epoch": 1, "sealed": ")" + ToHex(*SealEnvKey(old_k, host.public_key)) +
           R"(", "aead": "aes256gcm"}]}]})";
  };
  // Step 1 of the rotation: senders still on epoch 1 (AES-GCM).
  auto c = ParseControl(doc("aes256gcm", 1, R"(, "aead": "chacha20poly1305")"), &host);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->envs[0].keys[0].aead, AeadKind::kChaCha20Poly1305);
  EXPECT_EQ(c->envs[0].keys[1].aead, AeadKind::kAes256Gcm);
  // Step 2: senders on epoch 2 (ChaCha20).
  EXPECT_TRUE(ParseControl(doc("chacha20poly1305", 2, R"(, "aead": "chacha20poly1305")"), &host).ok());
  // The env's aead must be the send epoch's.
  EXPECT_FALSE(ParseControl(doc("aes256gcm", 2, R"(, "aead": "chacha20poly1305")"), &host).ok());
  // A sealed key whose algorithm differs from what the document names is refused.
  EXPECT_FALSE(ParseControl(doc("aes256gcm", 1, R"(, "aead": "aes256gcm")"), &host).ok());
}

TEST(Control, GatewayPorts) {
  std::string doc = kDoc;
  doc.replace(doc.find("\"pod_cidr\""), 0, "\"gateway_ports\": [\"tcp/53\", \"udp/53\", \"tcp/53\"], ");
  auto c = ParseControl(doc, nullptr);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->gateway_ports.size(), 2u) << "duplicates collapse";
  EXPECT_EQ(FormatGatewayPort(c->gateway_ports[0]), "tcp/53");
  EXPECT_EQ(c->gateway_ports[1].proto, "udp");
  EXPECT_TRUE(ParseControl(kDoc, nullptr)->gateway_ports.empty()) << "default: nothing";
  for (std::string bad : {"\"tcp/0\"", "\"tcp/65536\"", "\"sctp/5\"", "\"tcp/\"", "\"53\"", "53", "\"tcp/5;x\""}) {
    std::string d = kDoc;
    d.replace(d.find("\"pod_cidr\""), 0, "\"gateway_ports\": [" + bad + "], ");
    EXPECT_FALSE(ParseControl(d, nullptr).ok()) << bad;
  }
  EXPECT_TRUE(ParseGatewayPort("udp/65535").ok());
}
