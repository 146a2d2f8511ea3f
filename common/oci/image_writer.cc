#include "common/oci/image_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/crypto/sha256.h"

namespace rv::oci {

using nlohmann::json;

Result<ResolvedImage> ResolveImage(RegistryClient& c, const std::string& repo, const std::string& ref) {
  auto m = c.GetManifest(repo, ref);
  if (!m.ok()) return m.status();
  if (IsIndexMediaType(m->media_type)) {
    auto idx = ParseIndex(m->body);
    if (!idx.ok()) return idx.status();
    auto d = SelectPlatform(*idx);
    if (!d.ok()) return d.status();
    m = c.GetManifest(repo, d->digest);
    if (!m.ok()) return m.status();
    if (!IsManifestMediaType(m->media_type)) return Status::Invalid("index entry is not an image manifest");
  }
  ResolvedImage r;
  r.manifest_digest = m->digest;
  r.manifest_body = m->body;
  auto man = ParseManifest(m->body);
  if (!man.ok()) return man.status();
  r.manifest = *man;
  auto cfg = c.GetBlob(repo, r.manifest.config);
  if (!cfg.ok()) return cfg.status();
  r.config_body = *cfg;
  auto pc = ParseImageConfig(r.config_body);
  if (!pc.ok()) return pc.status();
  r.config = *pc;
  if (r.config.diff_ids.size() != r.manifest.layers.size())
    return Status::Invalid("image config lists " + std::to_string(r.config.diff_ids.size()) + " diff_ids for " +
                           std::to_string(r.manifest.layers.size()) + " layers");
  return r;
}

Result<PushResult> PushDir(RegistryClient& c, const std::string& dir, const PushDirOptions& o) {
  if (!IsValidRepo(o.repo)) return Status::Invalid("bad repository '" + o.repo + "'");
  if (!IsValidTag(o.tag)) return Status::Invalid("bad tag '" + o.tag + "'");
  Manifest man;
  json cfg;
  std::string base_repo;
  if (!o.base.empty()) {
    auto ref = ParseReference(o.base);
    if (!ref.ok()) return ref.status();
    base_repo = ref->repo;
    auto base = ResolveImage(c, ref->repo, ref->ManifestRef());
    if (!base.ok()) return Status::FromCode(base.status().code(), "base image " + o.base + ": " + base.status().message());
    man.layers = base->manifest.layers;
    cfg = base->config.raw;
  } else {
    cfg = {{"architecture", "amd64"}, {"os", "linux"}, {"config", json::object()},
           {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}, {"history", json::array()}};
  }
  std::mt19937_64 rng(std::random_device{}());
  std::string tmp = o.tmp_dir + "/rv-layer-" + std::to_string(getpid()) + "-" + std::to_string(rng()) + ".tar.gz";
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  auto t_layer = std::chrono::steady_clock::now();
  auto layer = WriteLayer(dir, tmp, o.layer);
  if (!layer.ok()) return layer.status();
  double layer_seconds = seconds_since(t_layer);
  PushResult res;
  res.layer = *layer;
  Descriptor ld{kMediaLayerGzip, layer->digest, layer->size, "", "", {}};
  man.layers.push_back(ld);

  // Config: the base's, plus our layer and overrides.
  if (!cfg.contains("config") || !cfg["config"].is_object()) cfg["config"] = json::object();
  json& cc = cfg["config"];
  if (!cfg.contains("rootfs") || !cfg["rootfs"].is_object()) cfg["rootfs"] = {{"type", "layers"}, {"diff_ids", json::array()}};
  cfg["rootfs"]["diff_ids"].push_back(layer->diff_id);
  if (!cfg.contains("history") || !cfg["history"].is_array()) cfg["history"] = json::array();
  cfg["history"].push_back({{"created_by", o.created_by}});
  cfg.erase("created");  // reproducible: the same inputs give the same image digest
  if (!o.entrypoint.empty()) cc["Entrypoint"] = o.entrypoint;
  if (!o.cmd.empty()) cc["Cmd"] = o.cmd;
  if (!o.user.empty()) cc["User"] = o.user;
  if (!o.working_dir.empty()) cc["WorkingDir"] = o.working_dir;
  if (!o.env.empty()) {
    std::vector<std::string> env;
    if (cc.contains("Env") && cc["Env"].is_array())
      for (auto& e : cc["Env"])
        if (e.is_string()) env.push_back(e);
    for (const auto& kv : o.env) {
      std::string k = kv.substr(0, kv.find('='));
      std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == k; });
      env.push_back(kv);
    }
    cc["Env"] = env;
  }
  for (const auto& p : o.exposed_ports) cc["ExposedPorts"][p] = json::object();
  for (const auto& [k, v] : o.labels) cc["Labels"][k] = v;
  std::string cfg_body = cfg.dump();
  man.config = {kMediaConfig, crypto::OciDigestOf(cfg_body), static_cast<int64_t>(cfg_body.size()), "", "", {}};

  res.layer_seconds = layer_seconds;
  res.image_bytes = man.config.size;
  for (const auto& l : man.layers) res.image_bytes += l.size;
  auto t_push = std::chrono::steady_clock::now();
  Status st;
  for (size_t i = 0; i + 1 < man.layers.size() && st.ok(); i++) {
    bool up = false;
    st = c.PushBlob(o.repo, man.layers[i].digest, "", base_repo, &up);
    // An empty body can only succeed by HEAD or mount; if neither, the base is broken.
    if (up) st = Status::Internal("base layer " + man.layers[i].digest + " was not in the registry");
  }
  bool up = false;
  if (st.ok()) st = c.PushBlobFile(o.repo, layer->digest, tmp, base_repo, &up);
  res.uploaded_blobs += up;
  unlink(tmp.c_str());
  if (!st.ok()) return st;
  st = c.PushBlob(o.repo, man.config.digest, cfg_body, "", &up);
  if (!st.ok()) return st;
  res.uploaded_blobs += up;
  auto md = c.PutManifest(o.repo, o.tag, kMediaManifest, SerializeManifest(man));
  if (!md.ok()) return md.status();
  res.manifest_digest = *md;
  res.push_seconds = seconds_since(t_push);
  return res;
}

Status ExportOciLayout(RegistryClient& c, const std::string& repo, const std::string& ref, const std::string& dir,
                       const std::string& tag) {
  namespace fs = std::filesystem;
  auto img = ResolveImage(c, repo, ref);
  if (!img.ok()) return img.status();
  std::error_code ec;
  fs::create_directories(dir + "/blobs/sha256", ec);
  if (ec) return Status::Io("mkdir " + dir + ": " + ec.message());
  auto write_file = [](const std::string& path, const std::string& data) -> Status {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << data;
    return f.good() ? Status::Ok() : Status::Io("write " + path);
  };
  auto blob_path = [&](const std::string& d) { return dir + "/blobs/sha256/" + d.substr(7); };
  Status st = write_file(blob_path(img->manifest_digest), img->manifest_body);
  if (st.ok()) st = write_file(blob_path(img->manifest.config.digest), img->config_body);
  for (const auto& l : img->manifest.layers) {
    if (!st.ok()) break;
    if (fs::exists(blob_path(l.digest))) continue;
    int fd = open(blob_path(l.digest).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Io("create blob: " + std::string(strerror(errno)));
    st = c.FetchBlob(repo, l, fd);
    close(fd);
  }
  if (!st.ok()) return st;
  json idx = {{"schemaVersion", 2},
              {"manifests",
               {{{"mediaType", kMediaManifest},
                 {"digest", img->manifest_digest},
                 {"size", img->manifest_body.size()},
                 {"annotations", {{"org.opencontainers.image.ref.name", tag}}}}}}};
  st = write_file(dir + "/index.json", idx.dump());
  if (st.ok()) st = write_file(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return st;
}

Result<std::string> ImportOciLayout(RegistryClient& c, const std::string& dir, const std::string& repo,
                                    const std::string& tag) {
  auto read_small = [](const std::string& path, size_t cap) -> Result<std::string> {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::NotFound("cannot read " + path);
    std::string s;
    char buf[8192];
    while (f.read(buf, sizeof buf) || f.gcount() > 0) {
      s.append(buf, f.gcount());
      if (s.size() > cap) return Status::Invalid(path + " is larger than " + std::to_string(cap) + " bytes");
    }
    return s;
  };
  auto blob_path = [&](const std::string& d) -> Result<std::string> {
    if (d.size() != 71 || d.rfind("sha256:", 0) != 0 || d.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
      return Status::Invalid("bad digest '" + d.substr(0, 80) + "' in " + dir);
    return dir + "/blobs/sha256/" + d.substr(7);
  };
  auto idx_body = read_small(dir + "/index.json", 1 << 20);
  if (!idx_body.ok()) return idx_body.status();
  auto idx = ParseIndex(*idx_body);
  if (!idx.ok()) return Status::Invalid(dir + "/index.json: " + idx.status().message());
  if (idx->manifests.size() != 1 || !IsManifestMediaType(idx->manifests[0].media_type))
    return Status::Invalid(dir + "/index.json must name exactly one image manifest");
  const Descriptor& md = idx->manifests[0];
  auto mpath = blob_path(md.digest);
  if (!mpath.ok()) return mpath.status();
  auto mbody = read_small(*mpath, 4 << 20);
  if (!mbody.ok()) return mbody.status();
  if ("sha256:" + crypto::Sha256Hex(*mbody) != md.digest) return Status::Invalid("the manifest in " + dir + " does not match its digest");
  auto man = ParseManifest(*mbody);
  if (!man.ok()) return man.status();
  std::vector<Descriptor> blobs = {man->config};
  blobs.insert(blobs.end(), man->layers.begin(), man->layers.end());
  for (const auto& b : blobs) {  // all verified before anything moves
    auto p = blob_path(b.digest);
    if (!p.ok()) return p.status();
    auto d = crypto::Sha256File(*p);
    if (!d.ok()) return d.status();
    std::error_code ec;
    auto size = std::filesystem::file_size(*p, ec);
    if (*d != b.digest || ec || static_cast<int64_t>(size) != b.size)
      return Status::Invalid(*p + " does not match its digest or size");
  }
  for (const auto& b : blobs) {
    Status st = c.PushBlobFile(repo, b.digest, *blob_path(b.digest));
    if (!st.ok()) return st;
  }
  return c.PutManifest(repo, tag, md.media_type, *mbody);
}

}  // namespace rv::oci
