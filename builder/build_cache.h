// The per-app build cache kept in the registry, so a build on another host
// starts warm: the cache directory is one deterministic tar+gzip layer of an
// image `<repo>:latest` (repo e.g. cache/TENANT/ENV/APP).
//
// PullCache fetches and verifies that blob (RegistryClient) and extracts it
// with the strider's hostile-layer unpacker into `dest` (which must not
// exist): a cache written by an earlier build is as untrusted as the build
// was. No cache in the registry is not an error (found=false).
// PushCache packs `dir` (owners kept, mtimes zeroed, sorted) and pushes it;
// an unchanged cache hashes to the same digest and moves no bytes.
// Not thread-safe beyond what RegistryClient is.
#pragma once

#include <cstdint>
#include <string>

#include "common/oci/registry_client.h"
#include "common/status.h"

namespace rv::builder {

struct CacheTransfer {
  bool found = false;       // pull: the registry had a cache
  bool uploaded = false;    // push: bytes moved (the cache changed)
  int64_t bytes = 0;        // compressed size of the cache blob
  double seconds = 0;
};

Status PullCache(oci::RegistryClient& c, const std::string& repo, const std::string& dest,
                 const std::string& tmp_dir, CacheTransfer* t);
Status PushCache(oci::RegistryClient& c, const std::string& repo, const std::string& dir,
                 const std::string& tmp_dir, CacheTransfer* t);

// A build job's source (docs/BUILDER.md "Builds as jobs"): the one-layer
// image `repo@digest` rv-deploy pushed, fetched by digest (manifest and blob
// verified, so what arrives is what the push's deploy named over sauron's
// authenticated channel) and extracted into `dest` (must not exist) with the
// hostile-layer unpacker. Not finding it is an error.
Status PullSource(oci::RegistryClient& c, const std::string& repo, const std::string& digest, const std::string& dest,
                  const std::string& tmp_dir, CacheTransfer* t);

}  // namespace rv::builder
