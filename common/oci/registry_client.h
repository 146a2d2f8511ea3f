// RegistryClient: a client of the registry HTTP API v2 (Distribution) on libcurl.
//
// Everything it receives is checked before it is trusted: manifests are size
// capped and, when asked for by digest, hashed; blobs are streamed to the
// caller's file descriptor while hashed and counted, and any size or digest
// mismatch fails the fetch (the caller throws the partial file away). Errors
// say which of these happened: NotFound (no such image or blob), Unavailable
// (registry down or 5xx), Invalid (corrupt or truncated content), Io (local
// write failed, e.g. disk full).
//
// With a CA file (Options::ca_file) the registry is reached over https, TLS 1.2
// or later, its certificate verified against that CA only; with a credential
// file (Options::auth_file, "user:password", 0600) every request carries HTTP
// basic auth, which is refused over plain http. A 401/403 ends in Denied
// ("refused the credentials", "may not push"), never with the password in it.
//
// Thread-safe: one libcurl easy handle (keep-alive to the registry) behind a
// mutex; transfers are serialized.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "common/oci/image.h"
#include "common/oci/registry_auth.h"
#include "common/status.h"

namespace rv::oci {

struct FetchedManifest {
  std::string media_type;
  std::string body;
  std::string digest;  // sha256 of body
};

class RegistryClient {
 public:
  struct Options {
    std::string registry;             // "127.0.0.1:5000" or "http://host:port"
    long connect_timeout_ms = 2000;
    long timeout_ms = 300000;         // whole transfer
    long low_speed_secs = 20;         // abort a stalled transfer
    size_t chunk_bytes = 0;           // >0: chunked upload (PATCH) in pieces of this size
    std::string ca_file{};            // PEM CA to verify the registry by; set = https
    std::string auth_file{};          // "user:password" file (0600); "" = anonymous
  };
  explicit RegistryClient(Options o);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const std::string& base_url() const { return base_; }

  Status Ping();
  // Manifest or index by tag or digest. With a digest ref the body must hash to it.
  Result<FetchedManifest> GetManifest(const std::string& repo, const std::string& ref);
  // True if the registry has the blob in `repo`.
  Result<bool> HasBlob(const std::string& repo, const std::string& digest);
  // Streams a blob to `fd`, verifying its size and digest.
  Status FetchBlob(const std::string& repo, const Descriptor& d, int fd);
  // Small blobs (configs) into memory, verified.
  Result<std::string> GetBlob(const std::string& repo, const Descriptor& d);
  // Uploads a blob from memory or a file unless the registry already has it (HEAD),
  // trying a cross-repository mount from `mount_from` first. `uploaded` tells if bytes moved.
  Status PushBlob(const std::string& repo, const std::string& digest, const std::string& data,
                  const std::string& mount_from = "", bool* uploaded = nullptr);
  Status PushBlobFile(const std::string& repo, const std::string& digest, const std::string& path,
                      const std::string& mount_from = "", bool* uploaded = nullptr);
  // Returns the manifest digest.
  Result<std::string> PutManifest(const std::string& repo, const std::string& ref, const std::string& media_type,
                                  const std::string& body);

 private:
  struct Response {
    long code = 0;
    std::string body;
    std::string location;
    std::string content_type;
    std::string docker_digest;
  };
  struct Body;  // upload source
  Result<Response> Do(const std::string& method, const std::string& url, const std::string& accept,
                      Body* upload, const std::string& content_type, int sink_fd, const Descriptor* verify);
  Status Upload(const std::string& repo, const std::string& digest, Body& body, const std::string& mount_from,
                bool* uploaded);
  std::string Absolute(const std::string& location) const;

  Options opt_;
  std::string base_;
  RegistryCredential cred_;
  Status init_;  // a bad credential file or transport: every call returns it
  std::mutex mu_;
  CURL* curl_ = nullptr;
};

}  // namespace rv::oci
