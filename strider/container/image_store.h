// ImageStore: the host-wide, content-addressed image cache shared by all
// containers on a host.
//
//   <root>/blobs/sha256/<hex>     verified blobs (manifests, configs, layers)
//   <root>/layers/<hex>/          one directory per layer, unpacked once, an
//                                 overlayfs lowerdir (named by the layer's blob digest)
//   <root>/images/<hex>.json      one record per pulled manifest: config + layer list
//   <root>/refs/<ref>             last manifest digest seen for a tag
//   <root>/tmp/                   downloads and unpacks in progress
//
// Pull fetches only blobs the host lacks; each is written to tmp/, verified
// (size + sha256) while streaming, fsynced, and renamed into place, so a blob
// or layer directory that exists is complete. A failed pull (registry down,
// image missing, corrupt or truncated blob, digest mismatch, hostile layer,
// disk full) leaves no partial file behind and returns a Status saying which.
// If the registry is unreachable but the tag was pulled before, the cached
// image is used (a host must restart its containers with the registry down).
//
// An image handed out (Pull, Cached) is kept by Gc for handed_out_grace_ms
// even if no container holds it yet: its caller mounts the layers next, and a
// Gc whose keep set was taken while the pull still ran (it waited for the
// lock) would otherwise remove them under the new container's rootfs.
//
// Thread-safe (pulls are serialized; Gc takes the same lock). Pulls of the
// same reference that overlap share one: the later callers wait for the one
// in flight and get its result (a host starting 100 containers of an image
// asks the registry once, not 100 times in a row).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/counters.h"
#include "common/oci/image.h"
#include "common/oci/registry_client.h"
#include "common/status.h"
#include "strider/container/layer_unpacker.h"

namespace rv::container {

struct Image {
  std::string ref;               // as asked for
  std::string manifest_digest;
  oci::ImageConfig config;
  std::vector<std::string> layer_dirs;  // bottom first
  std::vector<std::string> layer_digests;
};

struct PullStats {
  int blobs_fetched = 0;
  int64_t bytes_fetched = 0;
  int layers_unpacked = 0;
  bool from_cache_only = false;  // registry unreachable, cached image used
};

class ImageStore {
 public:
  struct Options {
    std::string root;                  // e.g. /var/lib/rivendell/images
    std::string default_registry;      // for references without a registry part
    // The default registry's CA and credential (RegistryClient::Options);
    // never sent to a registry a reference names otherwise.
    std::string registry_ca;
    std::string registry_auth;
    UnpackOptions unpack;
    bool keep_layer_blobs = true;      // false: drop a layer's blob once unpacked
    int64_t handed_out_grace_ms = 10 * 60 * 1000;  // see above; 0 = none
    std::function<int64_t()> now_ms;   // monotonic ms; empty = the steady clock
  };
  static Result<std::unique_ptr<ImageStore>> Open(Options o, Counters* counters = nullptr);

  Result<Image> Pull(const std::string& ref, PullStats* stats = nullptr);

  // How `registry` is reached (pure): the pod CA and credential go to the
  // default registry only, never to one an image reference names.
  static oci::RegistryClient::Options ClientOptions(const Options& o, const std::string& registry);
  int64_t shared_pulls() const { return shared_pulls_.load(); }  // callers served by another's pull
  // The cached image for `ref` without asking any registry.
  Result<Image> Cached(const std::string& ref);

  // Removes images whose manifest digest is not in `keep` and that were not
  // handed out within the grace, then every blob and layer no remaining image
  // refers to. Returns bytes freed.
  Result<int64_t> Gc(const std::set<std::string>& keep_manifests);

  const Options& options() const { return opt_; }
  std::string LayerDir(const std::string& digest) const;
  std::string BlobPath(const std::string& digest) const;

 private:
  ImageStore(Options o, Counters* c) : opt_(std::move(o)), counters_(c) {}
  oci::RegistryClient& Client(const std::string& registry);
  Status EnsureBlob(oci::RegistryClient& c, const std::string& repo, const oci::Descriptor& d, PullStats* st);
  Status EnsureLayer(oci::RegistryClient& c, const std::string& repo, const oci::Descriptor& d, PullStats* st);
  Result<Image> PullAlone(const std::string& ref, PullStats* stats);
  Result<Image> PullLocked(const std::string& ref, PullStats* stats);  // mu_ held
  int64_t NowMs() const;
  // Notes an image given to a caller (mu_ held), so Gc keeps it for the grace.
  Result<Image> HandOut(Result<Image> img);
  Result<Image> LoadRecord(const std::string& manifest_digest, const std::string& ref);
  Status WriteAtomic(const std::string& path, const std::string& data);
  std::string TmpName(const std::string& hint);
  void Count(const std::string& n) { if (counters_) counters_->Add(n); }

  Options opt_;
  Counters* counters_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<oci::RegistryClient>> clients_;
  uint64_t tmp_seq_ = 0;
  std::map<std::string, int64_t> handed_out_;  // manifest digest -> when last handed out (mu_)
  std::mutex inflight_mu_;
  std::map<std::string, std::shared_future<Result<Image>>> inflight_;  // ref -> the pull under way
  std::atomic<int64_t> shared_pulls_{0};
};

}  // namespace rv::container
