#include "common/oci/image.h"

#include "common/crypto/sha256.h"

namespace rv::oci {

using nlohmann::json;

bool IsManifestMediaType(const std::string& mt) { return mt == kMediaManifest || mt == kMediaDockerManifest; }
bool IsIndexMediaType(const std::string& mt) { return mt == kMediaIndex || mt == kMediaDockerList; }
bool IsLayerMediaType(const std::string& mt) {
  return mt == kMediaLayerGzip || mt == kMediaLayerTar || mt == kMediaLayerZstd || mt == kMediaDockerLayer ||
         mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
}

namespace {

Result<json> ParseJson(const std::string& body, const char* what) {
  if (body.size() > kMaxDocumentBytes) return Status::Invalid(std::string(what) + " too large");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Invalid(std::string(what) + " is not a JSON object");
  return j;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

std::vector<std::string> StrList(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

Result<Descriptor> ParseDescriptor(const json& j) {
  if (!j.is_object()) return Status::Invalid("descriptor is not an object");
  Descriptor d;
  d.media_type = Str(j, "mediaType");
  d.digest = Str(j, "digest");
  if (!crypto::IsValidDigest(d.digest)) return Status::Invalid("descriptor has an invalid digest '" + d.digest.substr(0, 80) + "'");
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0)
    return Status::Invalid("descriptor " + d.digest + " has no valid size");
  d.size = sz->get<int64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.platform_os = Str(*p, "os");
    d.platform_arch = Str(*p, "architecture");
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object())
    for (auto& [k, v] : a->items())
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
  return d;
}

}  // namespace

Result<Manifest> ParseManifest(const std::string& body) {
  auto j = ParseJson(body, "manifest");
  if (!j.ok()) return j.status();
  Manifest m;
  m.media_type = Str(*j, "mediaType");
  if (m.media_type.empty()) m.media_type = kMediaManifest;  // optional in OCI
  if (!IsManifestMediaType(m.media_type)) return Status::Invalid("not an image manifest: " + m.media_type);
  auto cfg = j->find("config");
  if (cfg == j->end()) return Status::Invalid("manifest has no config");
  auto c = ParseDescriptor(*cfg);
  if (!c.ok()) return c.status();
  m.config = *c;
  auto layers = j->find("layers");
  if (layers == j->end() || !layers->is_array()) return Status::Invalid("manifest has no layers array");
  if (layers->size() > 127) return Status::Invalid("manifest has more than 127 layers");
  for (const auto& l : *layers) {
    auto d = ParseDescriptor(l);
    if (!d.ok()) return d.status();
    if (!IsLayerMediaType(d->media_type)) return Status::Invalid("unsupported layer media type '" + d->media_type + "'");
    m.layers.push_back(*d);
  }
  if (auto a = j->find("annotations"); a != j->end() && a->is_object())
    for (auto& [k, v] : a->items())
      if (v.is_string()) m.annotations[k] = v.get<std::string>();
  return m;
}

Result<Index> ParseIndex(const std::string& body) {
  auto j = ParseJson(body, "index");
  if (!j.ok()) return j.status();
  auto ms = j->find("manifests");
  if (ms == j->end() || !ms->is_array()) return Status::Invalid("index has no manifests array");
  Index idx;
  for (const auto& e : *ms) {
    auto d = ParseDescriptor(e);
    if (!d.ok()) return d.status();
    idx.manifests.push_back(*d);
  }
  return idx;
}

Result<ImageConfig> ParseImageConfig(const std::string& body) {
  auto j = ParseJson(body, "image config");
  if (!j.ok()) return j.status();
  ImageConfig c;
  c.raw = *j;
  if (auto cfg = j->find("config"); cfg != j->end() && cfg->is_object()) {
    c.env = StrList(*cfg, "Env");
    c.entrypoint = StrList(*cfg, "Entrypoint");
    c.cmd = StrList(*cfg, "Cmd");
    c.working_dir = Str(*cfg, "WorkingDir");
    c.user = Str(*cfg, "User");
    if (auto p = cfg->find("ExposedPorts"); p != cfg->end() && p->is_object())
      for (auto& [k, v] : p->items()) c.exposed_ports.push_back(k);
    if (auto l = cfg->find("Labels"); l != cfg->end() && l->is_object())
      for (auto& [k, v] : l->items())
        if (v.is_string()) c.labels[k] = v.get<std::string>();
  }
  if (auto rf = j->find("rootfs"); rf != j->end() && rf->is_object()) {
    c.diff_ids = StrList(*rf, "diff_ids");
    for (const auto& d : c.diff_ids)
      if (!crypto::IsValidDigest(d)) return Status::Invalid("image config has an invalid diff_id");
  }
  return c;
}

json DescriptorJson(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (!d.platform_os.empty()) j["platform"] = {{"os", d.platform_os}, {"architecture", d.platform_arch}};
  return j;
}

std::string SerializeManifest(const Manifest& m) {
  json j = {{"schemaVersion", 2}, {"mediaType", kMediaManifest}, {"config", DescriptorJson(m.config)}};
  j["layers"] = json::array();
  for (const auto& l : m.layers) j["layers"].push_back(DescriptorJson(l));
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

Result<Descriptor> SelectPlatform(const Index& idx, const std::string& arch) {
  for (const auto& d : idx.manifests)
    if ((d.platform_os.empty() || d.platform_os == "linux") && d.platform_arch == arch) return d;
  if (idx.manifests.size() == 1) return idx.manifests[0];
  return Status::NotFound("image index has no linux/" + arch + " manifest");
}

}  // namespace rv::oci
