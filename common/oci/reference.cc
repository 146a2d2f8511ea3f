#include "common/oci/reference.h"

#include "common/crypto/sha256.h"

namespace rv::oci {

bool IsValidRepo(const std::string& repo) {
  if (repo.empty() || repo.size() > 255) return false;
  size_t start = 0;
  while (start <= repo.size()) {
    size_t end = repo.find('/', start);
    if (end == std::string::npos) end = repo.size();
    std::string part = repo.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
    if (!((part[0] >= 'a' && part[0] <= 'z') || (part[0] >= '0' && part[0] <= '9'))) return false;
    start = end + 1;
  }
  return true;
}

bool IsValidTag(const std::string& tag) {
  if (tag.empty() || tag.size() > 128) return false;
  if (tag[0] == '.' || tag[0] == '-') return false;
  for (char c : tag)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return false;
  return true;
}

Result<Reference> ParseReference(const std::string& in) {
  if (in.empty() || in.size() > 512) return Status::Invalid("image reference is empty or too long");
  Reference r;
  std::string s = in;
  size_t at = s.find('@');
  if (at != std::string::npos) {
    r.digest = s.substr(at + 1);
    s = s.substr(0, at);
    if (!crypto::IsValidDigest(r.digest)) return Status::Invalid("bad digest in image reference '" + in + "'");
  }
  size_t slash = s.find('/');
  if (slash != std::string::npos) {
    std::string first = s.substr(0, slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost") {
      r.registry = first;
      s = s.substr(slash + 1);
    }
  }
  size_t colon = s.rfind(':');
  if (colon != std::string::npos) {
    r.tag = s.substr(colon + 1);
    s = s.substr(0, colon);
    if (!IsValidTag(r.tag)) return Status::Invalid("bad tag in image reference '" + in + "'");
  }
  r.repo = s;
  if (!IsValidRepo(r.repo)) return Status::Invalid("bad repository in image reference '" + in + "'");
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  for (char c : r.registry)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-' || c == '[' || c == ']'))
      return Status::Invalid("bad registry in image reference '" + in + "'");
  return r;
}

std::string Reference::ToString() const {
  std::string s = registry.empty() ? repo : registry + "/" + repo;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

}  // namespace rv::oci
