#include "overlay/control.h"

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sodium.h>

namespace rv::overlay {
namespace {

using nlohmann::json;

Status CheckKeys(const json& j, const std::set<std::string>& allowed, const std::string& where) {
  if (!j.is_object()) return Status::Invalid(where + " must be an object");
  for (auto& [k, v] : j.items())
    if (!allowed.count(k)) return Status::Invalid("unknown field '" + k + "' in " + where);
  return Status::Ok();
}

template <typename T>
Status GetUint(const json& j, const char* k, T* out, bool required, uint64_t max) {
  if (!j.contains(k)) return required ? Status::Invalid(std::string("missing '") + k + "'") : Status::Ok();
  const json& v = j.at(k);
  if (!v.is_number_unsigned() || v.get<uint64_t>() > max)
    return Status::Invalid(std::string("'") + k + "' must be an unsigned integer <= " + std::to_string(max));
  *out = T(v.get<uint64_t>());
  return Status::Ok();
}

Status GetString(const json& j, const char* k, std::string* out, bool required) {
  if (!j.contains(k)) return required ? Status::Invalid(std::string("missing '") + k + "'") : Status::Ok();
  if (!j.at(k).is_string()) return Status::Invalid(std::string("'") + k + "' must be a string");
  *out = j.at(k).get<std::string>();
  return Status::Ok();
}

bool ValidIfName(const std::string& s) {
  if (s.empty() || s.size() > 15) return false;
  for (char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

#define RV_TRY(expr)              \
  do {                            \
    Status _s = (expr);           \
    if (!_s.ok()) return _s;      \
  } while (0)

Result<EnvConfig> ParseEnv(const json& j, const HostKeyPair* hk, const Prefix& pod) {
  RV_TRY(CheckKeys(j, {"id", "subnet", "aead", "send_epoch", "keys", "routes", "attachments"}, "env"));
  EnvConfig e;
  RV_TRY(GetUint(j, "id", &e.id, true, 0x7fff0000));
  if (e.id == 0) return Status::Invalid("env id 0 is reserved");
  std::string s;
  RV_TRY(GetString(j, "subnet", &s, true));
  auto sub = ParsePrefix(s);
  if (!sub.ok()) return sub.status();
  e.subnet = *sub;
  if (!pod.Contains(e.subnet)) return Status::Invalid("env subnet " + s + " is outside pod_cidr");
  std::string aead = "aes256gcm";
  RV_TRY(GetString(j, "aead", &aead, false));
  auto ak = ParseAead(aead);
  if (!ak.ok()) return ak.status();
  e.aead = *ak;
  RV_TRY(GetUint(j, "send_epoch", &e.send_epoch, false, UINT32_MAX));
  if (j.contains("keys")) {
    if (!j["keys"].is_array()) return Status::Invalid("keys must be an array");
    for (auto& kj : j["keys"]) {
      RV_TRY(CheckKeys(kj, {"epoch", "key", "sealed", "aead"}, "key"));
      uint32_t epoch = 0;
      RV_TRY(GetUint(kj, "epoch", &epoch, true, UINT32_MAX));
      // Epochs may use different AEADs (a rotation can switch it); default: the env's.
      AeadKind key_aead = e.aead;
      if (kj.contains("aead")) {
        std::string an;
        RV_TRY(GetString(kj, "aead", &an, true));
        auto kk = ParseAead(an);
        if (!kk.ok()) return kk.status();
        key_aead = *kk;
      }
      std::string plain, sealed;
      RV_TRY(GetString(kj, "key", &plain, false));
      RV_TRY(GetString(kj, "sealed", &sealed, false));
      if (plain.empty() == sealed.empty()) return Status::Invalid("a key needs exactly one of key/sealed");
      EnvKey k;
      if (!sealed.empty()) {
        if (!hk) return Status::Invalid("sealed key given but overlayd has no --host-key");
        auto blob = FromHex(sealed);
        if (!blob.ok()) return blob.status();
        auto opened = OpenEnvKey(*blob, hk->public_key, hk->secret_key);
        if (!opened.ok()) return opened.status();
        k = *opened;
        if (k.env_id != e.id || k.epoch != epoch)
          return Status::Denied("sealed key is for another environment or epoch");
        if (k.aead != key_aead) return Status::Invalid("sealed key's aead differs from the one the document names");
      } else {
        auto raw = FromHex(plain);
        if (!raw.ok()) return raw.status();
        if (raw->size() != kKeySize) return Status::Invalid("key must be 32 bytes");
        k.env_id = e.id;
        k.epoch = epoch;
        k.aead = key_aead;
        memcpy(k.key.data(), raw->data(), kKeySize);
      }
      for (auto& other : e.keys)
        if (other.epoch == epoch) return Status::Invalid("duplicate key epoch");
      e.keys.push_back(k);
    }
    if (e.keys.size() > Keyring::kMaxEpochs) return Status::Invalid("at most 2 key epochs per env");
  }
  if (e.send_epoch != 0) {
    bool found = false;
    for (auto& k : e.keys) found |= k.epoch == e.send_epoch;
    if (!found) return Status::Invalid("send_epoch has no key");
  }
  {
    // "aead" names what the env sends with: the send epoch's (or newest) key's.
    const EnvKey* send = nullptr;
    for (auto& k : e.keys)
      if (e.send_epoch ? k.epoch == e.send_epoch : (!send || k.epoch > send->epoch)) send = &k;
    if (send && send->aead != e.aead) return Status::Invalid("the env's aead must be its send epoch's");
  }
  if (j.contains("routes")) {
    if (!j["routes"].is_array()) return Status::Invalid("routes must be an array");
    for (auto& rj : j["routes"]) {
      RV_TRY(CheckKeys(rj, {"addr", "host"}, "route"));
      RouteEntry r;
      RV_TRY(GetString(rj, "addr", &s, true));
      auto a = ParseAddr(s);
      if (!a.ok()) return a.status();
      if (!e.subnet.Contains(*a)) return Status::Invalid("route " + s + " outside the env subnet");
      r.addr = *a;
      RV_TRY(GetUint(rj, "host", &r.host_id, true, UINT32_MAX));
      e.routes.push_back(r);
    }
  }
  if (j.contains("attachments")) {
    if (!j["attachments"].is_array()) return Status::Invalid("attachments must be an array");
    for (auto& aj : j["attachments"]) {
      RV_TRY(CheckKeys(aj, {"addr", "veth", "netns", "ifname"}, "attachment"));
      Attachment at;
      RV_TRY(GetString(aj, "addr", &s, true));
      auto a = ParseAddr(s);
      if (!a.ok()) return a.status();
      if (!e.subnet.Contains(*a)) return Status::Invalid("attachment " + s + " outside the env subnet");
      at.addr = *a;
      RV_TRY(GetString(aj, "veth", &at.veth, true));
      RV_TRY(GetString(aj, "netns", &at.netns, false));
      RV_TRY(GetString(aj, "ifname", &at.ifname, false));
      if (!ValidIfName(at.veth) || !ValidIfName(at.ifname)) return Status::Invalid("bad interface name");
      if (at.netns.find("..") != std::string::npos || at.netns.find('\0') != std::string::npos)
        return Status::Invalid("bad netns");
      e.attachments.push_back(at);
    }
  }
  return e;
}

}  // namespace

Result<GatewayPort> ParseGatewayPort(const std::string& s) {
  auto slash = s.find('/');
  GatewayPort p;
  if (slash != std::string::npos) p.proto = s.substr(0, slash);
  std::string num = slash == std::string::npos ? "" : s.substr(slash + 1);
  if ((p.proto != "tcp" && p.proto != "udp") || num.empty() || num.size() > 5 ||
      num.find_first_not_of("0123456789") != std::string::npos || std::stoul(num) == 0 || std::stoul(num) > 65535)
    return Status::Invalid("gateway port '" + s + "' must be tcp/N or udp/N with N in 1..65535");
  p.port = uint16_t(std::stoul(num));
  return p;
}

std::string FormatGatewayPort(const GatewayPort& p) { return p.proto + "/" + std::to_string(p.port); }

void WipeKeys(std::vector<EnvKey>* keys) {
  for (auto& k : *keys) sodium_memzero(k.key.data(), k.key.size());
  keys->clear();
}

void WipeKeys(ControlConfig* c) {
  for (auto& e : c->envs) WipeKeys(&e.keys);
}

Result<ControlConfig> ParseControl(const std::string& text, const HostKeyPair* hk) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::Invalid("control document is not valid JSON");
  RV_TRY(CheckKeys(j, {"host_id", "listen", "underlay_mtu", "pod_cidr", "hosts", "envs", "gateway_ports"}, "control"));
  ControlConfig c;
  RV_TRY(GetUint(j, "host_id", &c.host_id, true, UINT32_MAX));
  if (c.host_id == 0) return Status::Invalid("host_id 0 is reserved");
  std::string s;
  RV_TRY(GetString(j, "listen", &s, true));
  RV_TRY(ParseEndpoint(s, &c.listen_addr, &c.listen_port));
  RV_TRY(GetUint(j, "underlay_mtu", &c.underlay_mtu, false, 9000));
  if (c.underlay_mtu < 576 + kOverhead) return Status::Invalid("underlay_mtu too small");
  s = "10.250.0.0/16";
  RV_TRY(GetString(j, "pod_cidr", &s, false));
  auto pod = ParsePrefix(s);
  if (!pod.ok()) return pod.status();
  c.pod = *pod;
  std::set<uint32_t> ids;
  if (j.contains("hosts")) {
    if (!j["hosts"].is_array()) return Status::Invalid("hosts must be an array");
    for (auto& hj : j["hosts"]) {
      RV_TRY(CheckKeys(hj, {"id", "endpoint"}, "host"));
      HostEntry h;
      RV_TRY(GetUint(hj, "id", &h.id, true, UINT32_MAX));
      RV_TRY(GetString(hj, "endpoint", &s, true));
      RV_TRY(ParseEndpoint(s, &h.addr, &h.port));
      if (h.id == 0 || !ids.insert(h.id).second) return Status::Invalid("host ids must be unique and non-zero");
      c.hosts.push_back(h);
    }
  }
  if (j.contains("gateway_ports")) {
    if (!j["gateway_ports"].is_array() || j["gateway_ports"].size() > 64)
      return Status::Invalid("gateway_ports must be an array of at most 64 \"tcp/N\" or \"udp/N\"");
    for (auto& pj : j["gateway_ports"]) {
      if (!pj.is_string()) return Status::Invalid("gateway_ports entries must be strings");
      auto p = ParseGatewayPort(pj.get<std::string>());
      if (!p.ok()) return p.status();
      bool dup = false;
      for (auto& o : c.gateway_ports) dup |= o == *p;
      if (!dup) c.gateway_ports.push_back(*p);
    }
  }
  std::set<uint32_t> envs;
  std::set<std::string> veths;
  if (j.contains("envs")) {
    if (!j["envs"].is_array()) return Status::Invalid("envs must be an array");
    for (auto& ej : j["envs"]) {
      auto e = ParseEnv(ej, hk, c.pod);
      if (!e.ok()) return e.status();
      if (!envs.insert(e->id).second) return Status::Invalid("duplicate env id");
      for (auto& o : c.envs)
        if (o.subnet.Contains(e->subnet) || e->subnet.Contains(o.subnet))
          return Status::Invalid("env subnets overlap");
      for (auto& a : e->attachments)
        if (!veths.insert(a.veth).second) return Status::Invalid("veth " + a.veth + " attached twice");
      c.envs.push_back(std::move(*e));
    }
  }
  return c;
}

Result<std::string> ReadFileText(const std::string& path, size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Io("cannot open " + path);
  std::string s;
  char buf[65536];
  while (f.read(buf, sizeof(buf)) || f.gcount() > 0) {
    s.append(buf, size_t(f.gcount()));
    if (s.size() > max_bytes) return Status::Invalid(path + " is too large");
  }
  return s;
}

}  // namespace rv::overlay
