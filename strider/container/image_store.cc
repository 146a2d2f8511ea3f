#include "strider/container/image_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/crypto/sha256.h"
#include "common/oci/reference.h"

namespace rv::container {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
std::string Hex(const std::string& digest) { return digest.substr(7); }

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("no " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string RefKey(const std::string& ref) {
  // refs/<sha256 of the reference>: any reference string becomes a safe name.
  return crypto::Sha256Hex(ref);
}

bool DiskFull(const Status& s) {
  return s.code() == Status::Code::kIo &&
         (s.message().find("No space left") != std::string::npos || s.message().find("disk full") != std::string::npos);
}
}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::Open(Options o, Counters* counters) {
  if (o.root.empty()) return Status::Invalid("image store root not set");
  std::error_code ec;
  for (const char* d : {"blobs/sha256", "layers", "images", "refs", "tmp"}) {
    fs::create_directories(o.root + "/" + d, ec);
    if (ec) return Status::Io("create " + o.root + "/" + d + ": " + ec.message());
  }
  // Debris of a crash mid-pull.
  for (auto& e : fs::directory_iterator(o.root + "/tmp", ec)) fs::remove_all(e.path(), ec);
  return std::unique_ptr<ImageStore>(new ImageStore(std::move(o), counters));
}

std::string ImageStore::LayerDir(const std::string& digest) const { return opt_.root + "/layers/" + Hex(digest); }
std::string ImageStore::BlobPath(const std::string& digest) const { return opt_.root + "/blobs/sha256/" + Hex(digest); }

std::string ImageStore::TmpName(const std::string& hint) {
  return opt_.root + "/tmp/" + hint + "." + std::to_string(getpid()) + "." + std::to_string(++tmp_seq_);
}

oci::RegistryClient& ImageStore::Client(const std::string& registry) {
  auto& c = clients_[registry];
  if (!c) c = std::make_unique<oci::RegistryClient>(ClientOptions(opt_, registry));
  return *c;
}

oci::RegistryClient::Options ImageStore::ClientOptions(const Options& s, const std::string& registry) {
  oci::RegistryClient::Options o;
  o.registry = registry;
  o.connect_timeout_ms = 1000;
  if (registry == s.default_registry) {
    o.ca_file = s.registry_ca;
    o.auth_file = s.registry_auth;
  }
  return o;
}

Status ImageStore::WriteAtomic(const std::string& path, const std::string& data) {
  std::string tmp = TmpName("meta");
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Io("create " + tmp + ": " + strerror(errno));
  ssize_t n = write(fd, data.data(), data.size());
  int e = errno;
  close(fd);
  if (n != static_cast<ssize_t>(data.size())) {
    unlink(tmp.c_str());
    return Status::Io("write " + path + ": " + strerror(n < 0 ? e : ENOSPC));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    e = errno;
    unlink(tmp.c_str());
    return Status::Io("rename " + path + ": " + strerror(e));
  }
  return Status::Ok();
}

Status ImageStore::EnsureBlob(oci::RegistryClient& c, const std::string& repo, const oci::Descriptor& d,
                              PullStats* st) {
  std::string final_path = BlobPath(d.digest);
  if (access(final_path.c_str(), F_OK) == 0) return Status::Ok();
  std::string tmp = TmpName(Hex(d.digest).substr(0, 16));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("create " + tmp + ": " + strerror(errno));
  Status s = c.FetchBlob(repo, d, fd);
  if (s.ok() && fsync(fd) != 0) s = Status::Io(std::string("fsync blob: ") + strerror(errno));
  close(fd);
  if (s.ok() && rename(tmp.c_str(), final_path.c_str()) != 0) s = Status::Io(std::string("rename blob: ") + strerror(errno));
  if (!s.ok()) {
    unlink(tmp.c_str());
    Count(s.code() == Status::Code::kInvalid ? "image.blob_rejected" : "image.blob_failed");
    return s;
  }
  st->blobs_fetched++;
  st->bytes_fetched += d.size;
  return Status::Ok();
}

Status ImageStore::EnsureLayer(oci::RegistryClient& c, const std::string& repo, const oci::Descriptor& d,
                               PullStats* st) {
  std::string dir = LayerDir(d.digest);
  if (access(dir.c_str(), F_OK) == 0) return Status::Ok();
  Status s = EnsureBlob(c, repo, d, st);
  if (!s.ok()) return s;
  std::string tmp = TmpName("layer-" + Hex(d.digest).substr(0, 16));
  UnpackStats us;
  s = UnpackLayer(BlobPath(d.digest), tmp, opt_.unpack, &us);
  if (s.ok() && rename(tmp.c_str(), dir.c_str()) != 0 && errno != EEXIST && errno != ENOTEMPTY)
    s = Status::Io(std::string("rename layer: ") + strerror(errno));
  std::error_code ec;
  if (!s.ok()) {
    fs::remove_all(tmp, ec);
    if (s.code() == Status::Code::kInvalid) {
      // A hostile or corrupt layer: do not keep its blob around either.
      unlink(BlobPath(d.digest).c_str());
      Count("image.layer_rejected");
    }
    return Status::FromCode(s.code(), "layer " + d.digest.substr(0, 19) + ": " + s.message());
  }
  fs::remove_all(tmp, ec);  // lost a rename race: someone else's copy is in place
  if (!opt_.keep_layer_blobs) unlink(BlobPath(d.digest).c_str());
  st->layers_unpacked++;
  return Status::Ok();
}

Result<Image> ImageStore::LoadRecord(const std::string& manifest_digest, const std::string& ref) {
  if (!crypto::IsValidDigest(manifest_digest)) return Status::Invalid("bad manifest digest");
  auto body = ReadFile(opt_.root + "/images/" + Hex(manifest_digest) + ".json");
  if (!body.ok()) return body.status();
  json j = json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.contains("config") || !j.contains("layers"))
    return Status::Invalid("corrupt image record " + manifest_digest);
  Image img;
  img.ref = ref;
  img.manifest_digest = manifest_digest;
  auto cfg = oci::ParseImageConfig(j["config"].get<std::string>());
  if (!cfg.ok()) return cfg.status();
  img.config = *cfg;
  for (const auto& l : j["layers"]) {
    std::string d = l.get<std::string>();
    if (!crypto::IsValidDigest(d)) return Status::Invalid("corrupt image record " + manifest_digest);
    if (access(LayerDir(d).c_str(), F_OK) != 0) return Status::NotFound("layer " + d + " missing from cache");
    img.layer_digests.push_back(d);
    img.layer_dirs.push_back(LayerDir(d));
  }
  return img;
}

int64_t ImageStore::NowMs() const { return opt_.now_ms ? opt_.now_ms() : MonotonicMs(); }

Result<Image> ImageStore::HandOut(Result<Image> img) {
  if (img.ok()) handed_out_[img->manifest_digest] = NowMs();
  return img;
}

Result<Image> ImageStore::Cached(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  auto md = ReadFile(opt_.root + "/refs/" + RefKey(ref));
  if (!md.ok()) return Status::NotFound("image " + ref + " is not cached");
  return HandOut(LoadRecord(*md, ref));
}

Result<Image> ImageStore::Pull(const std::string& ref_str, PullStats* stats) {
  std::promise<Result<Image>> mine;
  std::shared_future<Result<Image>> pending;
  {
    std::lock_guard<std::mutex> l(inflight_mu_);
    auto it = inflight_.find(ref_str);
    if (it != inflight_.end()) {
      pending = it->second;
    } else {
      inflight_[ref_str] = mine.get_future().share();
    }
  }
  if (pending.valid()) {
    shared_pulls_++;
    return pending.get();
  }
  Result<Image> r = Status::Internal("pull of " + ref_str + " did not finish");
  try {
    r = PullAlone(ref_str, stats);
  } catch (const std::exception& e) {  // the waiters must never hang on it
    r = Status::Internal("pull of " + ref_str + ": " + e.what());
  }
  {
    std::lock_guard<std::mutex> l(inflight_mu_);
    inflight_.erase(ref_str);
  }
  mine.set_value(r);
  return r;
}

Result<Image> ImageStore::PullAlone(const std::string& ref_str, PullStats* stats) {
  PullStats local;
  std::lock_guard<std::mutex> l(mu_);
  // Noted before the lock goes: a Gc waiting for it must see this image.
  return HandOut(PullLocked(ref_str, stats ? stats : &local));
}

Result<Image> ImageStore::PullLocked(const std::string& ref_str, PullStats* stats) {
  auto ref = oci::ParseReference(ref_str);
  if (!ref.ok()) return ref.status();
  std::string registry = ref->registry.empty() ? opt_.default_registry : ref->registry;
  if (registry.empty()) return Status::Invalid("no registry for image " + ref_str);
  if (!ref->digest.empty()) {  // immutable: if we have it, no registry round trip at all
    auto img = LoadRecord(ref->digest, ref_str);
    if (img.ok()) return img;
  }
  auto& c = Client(registry);
  auto fm = c.GetManifest(ref->repo, ref->ManifestRef());
  if (!fm.ok()) {
    if (fm.status().code() == Status::Code::kUnavailable) {
      auto md = ReadFile(opt_.root + "/refs/" + RefKey(ref_str));
      if (md.ok()) {
        auto img = LoadRecord(*md, ref_str);
        if (img.ok()) {
          spdlog::warn("registry unreachable, using cached {} ({})", ref_str, *md);
          stats->from_cache_only = true;
          return img;
        }
      }
    }
    Count(fm.status().code() == Status::Code::kNotFound ? "image.not_found" : "image.pull_failed");
    return fm.status();
  }
  if (oci::IsIndexMediaType(fm->media_type)) {
    auto idx = oci::ParseIndex(fm->body);
    if (!idx.ok()) return idx.status();
    auto d = oci::SelectPlatform(*idx);
    if (!d.ok()) return d.status();
    fm = c.GetManifest(ref->repo, d->digest);
    if (!fm.ok()) return fm.status();
  }
  // Known manifest with every layer present: the warm path, one round trip.
  auto known = LoadRecord(fm->digest, ref_str);
  if (known.ok()) {
    WriteAtomic(opt_.root + "/refs/" + RefKey(ref_str), fm->digest);
    return known;
  }
  auto man = oci::ParseManifest(fm->body);
  if (!man.ok()) return man.status();
  Status s = EnsureBlob(c, ref->repo, man->config, stats);
  if (!s.ok()) return Status::FromCode(s.code(), "image config: " + s.message());
  auto cfg_body = ReadFile(BlobPath(man->config.digest));
  if (!cfg_body.ok()) return cfg_body.status();
  auto cfg = oci::ParseImageConfig(*cfg_body);
  if (!cfg.ok()) return cfg.status();
  if (cfg->diff_ids.size() != man->layers.size())
    return Status::Invalid("image config lists " + std::to_string(cfg->diff_ids.size()) + " layers, manifest " +
                           std::to_string(man->layers.size()));
  for (const auto& layer : man->layers) {
    s = EnsureLayer(c, ref->repo, layer, stats);
    if (!s.ok()) {
      if (DiskFull(s)) Count("image.disk_full");
      return s;
    }
  }
  json rec = {{"ref", ref_str}, {"config", *cfg_body}, {"layers", json::array()}};
  for (const auto& layer : man->layers) rec["layers"].push_back(layer.digest);
  s = WriteAtomic(BlobPath(fm->digest), fm->body);
  if (s.ok()) s = WriteAtomic(opt_.root + "/images/" + Hex(fm->digest) + ".json", rec.dump());
  if (s.ok()) s = WriteAtomic(opt_.root + "/refs/" + RefKey(ref_str), fm->digest);
  if (!s.ok()) return s;
  Count("image.pulled");
  return LoadRecord(fm->digest, ref_str);
}

Result<int64_t> ImageStore::Gc(const std::set<std::string>& keep_manifests) {
  std::lock_guard<std::mutex> l(mu_);
  std::error_code ec;
  std::set<std::string> live_blobs;  // hex
  int64_t freed = 0;
  const int64_t now = NowMs();
  std::set<std::string> keep = keep_manifests;
  for (auto it = handed_out_.begin(); it != handed_out_.end();) {
    if (now - it->second < opt_.handed_out_grace_ms) {
      keep.insert(it->first);
      ++it;
    } else {
      it = handed_out_.erase(it);
    }
  }
  auto size_of = [&](const fs::path& p) {
    int64_t n = 0;
    if (fs::is_directory(p, ec)) {
      // increment(ec): a range-for's ++ throws on an entry it cannot read,
      // and the layers' contents are the tenants' builds.
      for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec) && !it->is_symlink(ec)) n += static_cast<int64_t>(it->file_size(ec));
    } else {
      n = static_cast<int64_t>(fs::file_size(p, ec));
    }
    return ec ? 0 : n;
  };
  for (auto& e : fs::directory_iterator(opt_.root + "/images", ec)) {
    std::string hex = e.path().stem().string();
    std::string digest = "sha256:" + hex;
    if (!keep.count(digest)) {
      freed += size_of(e.path());
      fs::remove(e.path(), ec);
      continue;
    }
    auto body = ReadFile(e.path().string());
    json j = body.ok() ? json::parse(*body, nullptr, false) : json();
    live_blobs.insert(hex);
    if (j.is_object() && j.contains("layers"))
      for (const auto& d : j["layers"])
        if (d.is_string() && crypto::IsValidDigest(d.get<std::string>())) live_blobs.insert(Hex(d));
    if (j.is_object() && j.contains("config") && j["config"].is_string())
      live_blobs.insert(crypto::Sha256Hex(j["config"].get<std::string>()));
  }
  for (const char* sub : {"/blobs/sha256", "/layers"})
    for (auto& e : fs::directory_iterator(opt_.root + sub, ec))
      if (!live_blobs.count(e.path().filename().string())) {
        freed += size_of(e.path());
        fs::remove_all(e.path(), ec);
      }
  for (auto& e : fs::directory_iterator(opt_.root + "/refs", ec)) {
    auto md = ReadFile(e.path().string());
    if (!md.ok() || !keep.count(*md)) fs::remove(e.path(), ec);
  }
  Count("image.gc");
  return freed;
}

}  // namespace rv::container
