#include "common/oci/registry_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/crypto/sha256.h"

namespace rv::oci {

namespace {

std::once_flag g_curl_once;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') i++;
  return s.substr(i);
}

struct Sink {
  int fd = -1;                 // stream here, or
  std::string* mem = nullptr;  // collect here
  size_t mem_cap = kMaxDocumentBytes;
  crypto::Sha256* hash = nullptr;
  int64_t received = 0;
  int64_t limit = -1;          // abort past this many bytes
  int write_errno = 0;
  bool too_big = false;
};

size_t WriteCb(char* p, size_t sz, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  size_t len = sz * n;
  s->received += static_cast<int64_t>(len);
  if (s->limit >= 0 && s->received > s->limit) {
    s->too_big = true;
    return 0;
  }
  if (s->hash) s->hash->Update(p, len);
  if (s->fd >= 0) {
    size_t off = 0;
    while (off < len) {
      ssize_t w = write(s->fd, p + off, len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        s->write_errno = errno;
        return 0;
      }
      off += static_cast<size_t>(w);
    }
  } else if (s->mem) {
    if (s->mem->size() + len > s->mem_cap) {
      s->too_big = true;
      return 0;
    }
    s->mem->append(p, len);
  }
  return len;
}

struct Headers {
  std::string location, content_type, docker_digest;
};

size_t HeaderCb(char* p, size_t sz, size_t n, void* ud) {
  auto* h = static_cast<Headers*>(ud);
  std::string line(p, sz * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string k = Lower(line.substr(0, colon));
    std::string v = Trim(line.substr(colon + 1));
    if (k == "location") h->location = v;
    else if (k == "content-type") h->content_type = v;
    else if (k == "docker-content-digest") h->docker_digest = v;
  }
  return sz * n;
}

}  // namespace

struct RegistryClient::Body {
  const std::string* data = nullptr;  // in memory, or
  int fd = -1;                        // from a file
  int64_t offset = 0, end = 0;        // range to send
  int read_errno = 0;
  static size_t Read(char* buf, size_t sz, size_t n, void* ud) {
    auto* b = static_cast<Body*>(ud);
    size_t want = std::min<int64_t>(static_cast<int64_t>(sz * n), b->end - b->offset);
    if (want == 0) return 0;
    if (b->data) {
      memcpy(buf, b->data->data() + b->offset, want);
      b->offset += want;
      return want;
    }
    ssize_t r = pread(b->fd, buf, want, b->offset);
    if (r < 0) {
      b->read_errno = errno;
      return CURL_READFUNC_ABORT;
    }
    b->offset += r;
    return static_cast<size_t>(r);
  }
};

RegistryClient::RegistryClient(Options o) : opt_(std::move(o)) {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  base_ = RegistryBaseUrl(opt_.registry, !opt_.ca_file.empty());
  if (!opt_.auth_file.empty()) {
    auto c = LoadCredential(opt_.auth_file);
    if (c.ok()) cred_ = std::move(*c);
    else init_ = c.status();
  }
  if (init_.ok()) init_ = CheckCredentialTransport(base_, !cred_.empty());
  curl_ = curl_easy_init();
}

RegistryClient::~RegistryClient() {
  if (curl_) curl_easy_cleanup(curl_);
}

std::string RegistryClient::Absolute(const std::string& loc) const {
  if (loc.rfind("http://", 0) == 0 || loc.rfind("https://", 0) == 0) return loc;
  return base_ + (loc.empty() || loc[0] != '/' ? "/" : "") + loc;
}

Result<RegistryClient::Response> RegistryClient::Do(const std::string& method, const std::string& url,
                                                    const std::string& accept, Body* upload,
                                                    const std::string& content_type, int sink_fd,
                                                    const Descriptor* verify) {
  if (!init_.ok()) return init_;
  if (!curl_) return Status::Internal("curl_easy_init failed");
  CURL* c = curl_;
  curl_easy_reset(c);
  Response resp;
  Sink sink;
  crypto::Sha256 hash;
  if (sink_fd >= 0) sink.fd = sink_fd;
  else sink.mem = &resp.body;
  if (verify) {
    sink.hash = &hash;
    sink.limit = verify->size;
  }
  Headers hdr;
  struct curl_slist* hl = nullptr;
  if (!accept.empty()) hl = curl_slist_append(hl, ("Accept: " + accept).c_str());
  if (!content_type.empty()) hl = curl_slist_append(hl, ("Content-Type: " + content_type).c_str());
  hl = curl_slist_append(hl, "Expect:");  // no 100-continue round trip on uploads
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, opt_.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, opt_.timeout_ms);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, opt_.low_speed_secs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, method == "GET" ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (!opt_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, opt_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);  // the pod CA alone, not the system's
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  if (!cred_.empty()) {
    // curl sends these to this host only, never after a redirect elsewhere.
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, cred_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, cred_.password.c_str());
  }
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT" || method == "PATCH" || method == "POST") {
    if (method == "PUT") curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    else if (method == "POST") curl_easy_setopt(c, CURLOPT_POST, 1L);
    else {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
    }
    Body empty;
    Body* b = upload ? upload : &empty;
    curl_easy_setopt(c, CURLOPT_READFUNCTION, Body::Read);
    curl_easy_setopt(c, CURLOPT_READDATA, b);
    curl_off_t len = b->end - b->offset;
    if (method == "POST") curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, len);
    else curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, len);
  } else if (method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hl);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.code);
  if (sink.write_errno)
    return Status::Io("writing blob: " + std::string(strerror(sink.write_errno)));
  if (sink.too_big)
    return Status::Invalid(verify ? "blob " + verify->digest + " is larger than its descriptor says (" +
                                        std::to_string(verify->size) + " bytes)"
                                  : "response too large");
  if (rc != CURLE_OK) {
    std::string what = std::string(curl_easy_strerror(rc));
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING)
      return Status::Unavailable("registry " + base_ + " unreachable: " + what);
    if (rc == CURLE_SSL_CONNECT_ERROR)  // also a registry restarting mid-handshake: may pass
      return Status::Unavailable("registry " + base_ + ": TLS handshake failed: " + what);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
      return Status::Denied("registry " + base_ + ": TLS failed (" + what + "); is " +
                            (opt_.ca_file.empty() ? std::string("--registry-ca given") : opt_.ca_file + " the pod's CA") + "?");
    if (rc == CURLE_PARTIAL_FILE)
      return Status::Invalid("truncated response from registry for " + url.substr(base_.size()));
    return Status::Unavailable("registry " + base_ + ": " + what);
  }
  if (Status refused = RefusalStatus(resp.code, method, base_, !cred_.empty()); !refused.ok()) {
    // An anonymous ping of a registry that wants credentials still says it is up.
    if (!(resp.code == 401 && cred_.empty() && url == base_ + "/v2/")) return refused;
  }
  resp.location = hdr.location;
  resp.content_type = hdr.content_type;
  resp.docker_digest = hdr.docker_digest;
  if (verify && resp.code == 200) {
    if (sink.received != verify->size)
      return Status::Invalid("blob " + verify->digest + " is truncated: got " + std::to_string(sink.received) +
                             " of " + std::to_string(verify->size) + " bytes");
    std::string got = hash.OciDigest();
    if (got != verify->digest)
      return Status::Invalid("blob digest mismatch: expected " + verify->digest + ", content hashes to " + got);
  }
  return resp;
}

Status RegistryClient::Ping() {
  std::lock_guard<std::mutex> l(mu_);
  auto r = Do("GET", base_ + "/v2/", "", nullptr, "", -1, nullptr);
  if (!r.ok()) return r.status();
  if (r->code != 200 && r->code != 401) return Status::Unavailable("registry /v2/ answered HTTP " + std::to_string(r->code));
  return Status::Ok();
}

Result<FetchedManifest> RegistryClient::GetManifest(const std::string& repo, const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  std::string accept = std::string(kMediaManifest) + ", " + kMediaIndex + ", " + kMediaDockerManifest + ", " +
                       kMediaDockerList;
  auto r = Do("GET", base_ + "/v2/" + repo + "/manifests/" + ref, accept, nullptr, "", -1, nullptr);
  if (!r.ok()) return r.status();
  if (r->code == 404) return Status::NotFound("image " + repo + ":" + ref + " not found in registry " + opt_.registry);
  if (r->code >= 500) return Status::Unavailable("registry error HTTP " + std::to_string(r->code) + " for " + repo);
  if (r->code != 200) return Status::Invalid("registry answered HTTP " + std::to_string(r->code) + " for manifest " + repo + ":" + ref);
  FetchedManifest m;
  m.body = std::move(r->body);
  m.digest = crypto::OciDigestOf(m.body);
  m.media_type = r->content_type.substr(0, r->content_type.find(';'));
  if (ref.rfind("sha256:", 0) == 0 && m.digest != ref)
    return Status::Invalid("manifest digest mismatch: asked for " + ref + ", content hashes to " + m.digest);
  if (!IsManifestMediaType(m.media_type) && !IsIndexMediaType(m.media_type)) {
    // Some registries answer application/json; trust the document's own field.
    auto j = nlohmann::json::parse(m.body, nullptr, false);
    if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) m.media_type = j["mediaType"];
    else if (j.is_object() && j.contains("manifests")) m.media_type = kMediaIndex;
    else m.media_type = kMediaManifest;
  }
  return m;
}

Result<bool> RegistryClient::HasBlob(const std::string& repo, const std::string& digest) {
  std::lock_guard<std::mutex> l(mu_);
  auto r = Do("HEAD", base_ + "/v2/" + repo + "/blobs/" + digest, "", nullptr, "", -1, nullptr);
  if (!r.ok()) return r.status();
  if (r->code == 200) return true;
  if (r->code == 404) return false;
  return Status::Unavailable("HEAD blob answered HTTP " + std::to_string(r->code));
}

Status RegistryClient::FetchBlob(const std::string& repo, const Descriptor& d, int fd) {
  if (!crypto::IsValidDigest(d.digest)) return Status::Invalid("invalid blob digest");
  std::lock_guard<std::mutex> l(mu_);
  auto r = Do("GET", base_ + "/v2/" + repo + "/blobs/" + d.digest, "", nullptr, "", fd, &d);
  if (!r.ok()) return r.status();
  if (r->code == 404) return Status::NotFound("blob " + d.digest + " of " + repo + " not found in registry");
  if (r->code >= 500) return Status::Unavailable("registry error HTTP " + std::to_string(r->code) + " for blob " + d.digest);
  if (r->code != 200) return Status::Invalid("registry answered HTTP " + std::to_string(r->code) + " for blob " + d.digest);
  return Status::Ok();
}

Result<std::string> RegistryClient::GetBlob(const std::string& repo, const Descriptor& d) {
  if (!crypto::IsValidDigest(d.digest)) return Status::Invalid("invalid blob digest");
  if (d.size > static_cast<int64_t>(kMaxDocumentBytes)) return Status::Invalid("config blob too large");
  std::lock_guard<std::mutex> l(mu_);
  auto r = Do("GET", base_ + "/v2/" + repo + "/blobs/" + d.digest, "", nullptr, "", -1, &d);
  if (!r.ok()) return r.status();
  if (r->code == 404) return Status::NotFound("blob " + d.digest + " of " + repo + " not found in registry");
  if (r->code != 200) return Status::Unavailable("registry answered HTTP " + std::to_string(r->code) + " for blob " + d.digest);
  return std::move(r->body);
}

Status RegistryClient::Upload(const std::string& repo, const std::string& digest, Body& body,
                              const std::string& mount_from, bool* uploaded) {
  if (uploaded) *uploaded = false;
  if (!crypto::IsValidDigest(digest)) return Status::Invalid("invalid blob digest");
  {
    auto has = HasBlob(repo, digest);
    if (!has.ok()) return has.status();
    if (*has) return Status::Ok();
  }
  std::lock_guard<std::mutex> l(mu_);
  std::string start = base_ + "/v2/" + repo + "/blobs/uploads/";
  if (!mount_from.empty() && mount_from != repo) start += "?mount=" + digest + "&from=" + mount_from;
  auto r = Do("POST", start, "", nullptr, "", -1, nullptr);
  if (!r.ok()) return r.status();
  if (r->code == 201) return Status::Ok();  // mounted from the base repository
  if (r->code != 202 || r->location.empty())
    return Status::Unavailable("upload start answered HTTP " + std::to_string(r->code) + ": " + r->body.substr(0, 200));
  std::string loc = Absolute(r->location);
  int64_t total = body.end;
  if (opt_.chunk_bytes > 0 && total > static_cast<int64_t>(opt_.chunk_bytes)) {
    int64_t off = 0;
    while (off < total) {
      int64_t n = std::min<int64_t>(opt_.chunk_bytes, total - off);
      Body chunk = body;
      chunk.offset = off;
      chunk.end = off + n;
      auto p = Do("PATCH", loc, "", &chunk, "application/octet-stream", -1, nullptr);
      if (!p.ok()) return p.status();
      if (p->code != 202) return Status::Unavailable("chunk upload answered HTTP " + std::to_string(p->code));
      if (!p->location.empty()) loc = Absolute(p->location);
      off += n;
    }
    body.offset = body.end;  // nothing left for the closing PUT
  }
  std::string put = loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
  auto p = Do("PUT", put, "", &body, "application/octet-stream", -1, nullptr);
  if (!p.ok()) return p.status();
  if (body.read_errno) return Status::Io(std::string("reading blob: ") + strerror(body.read_errno));
  if (p->code != 201)
    return Status::Invalid("blob upload answered HTTP " + std::to_string(p->code) + ": " + p->body.substr(0, 200));
  if (uploaded) *uploaded = true;
  return Status::Ok();
}

Status RegistryClient::PushBlob(const std::string& repo, const std::string& digest, const std::string& data,
                                const std::string& mount_from, bool* uploaded) {
  Body b;
  b.data = &data;
  b.end = static_cast<int64_t>(data.size());
  return Upload(repo, digest, b, mount_from, uploaded);
}

Status RegistryClient::PushBlobFile(const std::string& repo, const std::string& digest, const std::string& path,
                                    const std::string& mount_from, bool* uploaded) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io("open " + path + ": " + strerror(errno));
  Body b;
  b.fd = fd;
  b.end = lseek(fd, 0, SEEK_END);
  Status s = Upload(repo, digest, b, mount_from, uploaded);
  close(fd);
  return s;
}

Result<std::string> RegistryClient::PutManifest(const std::string& repo, const std::string& ref,
                                                const std::string& media_type, const std::string& body) {
  std::lock_guard<std::mutex> l(mu_);
  Body b;
  b.data = &body;
  b.end = static_cast<int64_t>(body.size());
  auto r = Do("PUT", base_ + "/v2/" + repo + "/manifests/" + ref, "", &b, media_type, -1, nullptr);
  if (!r.ok()) return r.status();
  if (r->code != 201)
    return Status::Invalid("manifest upload answered HTTP " + std::to_string(r->code) + ": " + r->body.substr(0, 300));
  return crypto::OciDigestOf(body);
}

}  // namespace rv::oci
