#include "builder/build_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "common/oci/image_writer.h"
#include "strider/container/layer_unpacker.h"

namespace rv::builder {

namespace {
using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

namespace {
// Fetches the one layer of `repo`:`ref` and unpacks it into `dest`.
Status PullOneLayer(oci::RegistryClient& c, const std::string& repo, const std::string& ref, const std::string& dest,
                    const std::string& tmp_dir, const std::string& what, bool missing_ok, CacheTransfer* t) {
  auto t0 = Clock::now();
  *t = {};
  auto img = oci::ResolveImage(c, repo, ref);
  if (!img.ok()) {
    t->seconds = Since(t0);
    if (missing_ok && img.status().code() == Status::Code::kNotFound) return Status::Ok();
    return Status::FromCode(img.status().code(), what + " " + repo + ": " + img.status().message());
  }
  if (img->manifest.layers.size() != 1) return Status::Invalid(what + " " + repo + " is not one layer");
  const auto& layer = img->manifest.layers[0];
  std::string tmp = tmp_dir + "/rv-cache-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("create " + tmp + ": " + strerror(errno));
  Status st = c.FetchBlob(repo, layer, fd);
  close(fd);
  if (st.ok()) {
    container::UnpackOptions uo;
    uo.allow_absolute_symlinks = true;  // stored, never followed (see layer_unpacker.h)
    st = container::UnpackLayer(tmp, dest, uo);
  }
  unlink(tmp.c_str());
  if (!st.ok()) return Status::FromCode(st.code(), what + " " + repo + ": " + st.message());
  t->found = true;
  t->bytes = layer.size;
  t->seconds = Since(t0);
  return Status::Ok();
}
}  // namespace

Status PullCache(oci::RegistryClient& c, const std::string& repo, const std::string& dest,
                 const std::string& tmp_dir, CacheTransfer* t) {
  return PullOneLayer(c, repo, "latest", dest, tmp_dir, "build cache", true, t);
}

Status PullSource(oci::RegistryClient& c, const std::string& repo, const std::string& digest, const std::string& dest,
                  const std::string& tmp_dir, CacheTransfer* t) {
  if (digest.rfind("sha256:", 0) != 0) return Status::Invalid("a build source is named by its digest");
  return PullOneLayer(c, repo, digest, dest, tmp_dir, "build source", false, t);
}

Status PushCache(oci::RegistryClient& c, const std::string& repo, const std::string& dir,
                 const std::string& tmp_dir, CacheTransfer* t) {
  auto t0 = Clock::now();
  *t = {};
  oci::PushDirOptions o;
  o.repo = repo;
  o.tag = "latest";
  o.layer.uid = o.layer.gid = -1;  // the build's own files: it must own them next time
  o.tmp_dir = tmp_dir;
  o.created_by = "builder: build cache";
  o.labels["rivendell.build-cache"] = "1";
  auto r = oci::PushDir(c, dir, o);
  if (!r.ok()) return Status::FromCode(r.status().code(), "pushing the build cache: " + r.status().message());
  t->uploaded = r->uploaded_blobs > 0;
  t->bytes = r->layer.size;
  t->seconds = Since(t0);
  return Status::Ok();
}

}  // namespace rv::builder
