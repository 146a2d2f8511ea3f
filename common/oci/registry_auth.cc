#include "common/oci/registry_auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rv::oci {

Result<RegistryCredential> ParseCredential(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.find('\n') != std::string_view::npos) return Status::Invalid("registry credential: more than one line");
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return Status::Invalid("registry credential: expected user:password");
  std::string_view user = text.substr(0, colon), pw = text.substr(colon + 1);
  if (user.empty() || user.size() > 64) return Status::Invalid("registry credential: user must be 1-64 characters");
  for (char ch : user) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-';
    if (!ok) return Status::Invalid("registry credential: user may hold only A-Z a-z 0-9 . _ -");
  }
  if (pw.size() < 8 || pw.size() > 256) return Status::Invalid("registry credential: password must be 8-256 characters");
  for (char ch : pw) {
    if (static_cast<unsigned char>(ch) <= ' ' || static_cast<unsigned char>(ch) >= 0x7f)
      return Status::Invalid("registry credential: password must be printable, without spaces");
  }
  return RegistryCredential{std::string(user), std::string(pw)};
}

Result<RegistryCredential> LoadCredential(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::Io("registry credential " + path + ": " + strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::Invalid("registry credential " + path + " is not a regular file");
  }
  if (st.st_mode & 077) {
    close(fd);
    return Status::Invalid("registry credential " + path + " may be read by other users (chmod 600 it)");
  }
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && text.size() < 4096) text.append(buf, static_cast<size_t>(n));
  close(fd);
  auto c = ParseCredential(text);
  if (!c.ok()) return Status::Invalid(c.status().message() + " (in " + path + ")");
  return c;
}

std::string RegistryBaseUrl(const std::string& registry, bool tls) {
  std::string b = registry;
  if (b.rfind("http://", 0) != 0 && b.rfind("https://", 0) != 0) b = (tls ? "https://" : "http://") + b;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}

Status CheckCredentialTransport(const std::string& base_url, bool has_credential) {
  if (has_credential && base_url.rfind("https://", 0) != 0)
    return Status::Invalid("registry credentials are only sent over https (give the pod CA with --registry-ca), not to " +
                           base_url);
  return Status::Ok();
}

Status RefusalStatus(long http_code, const std::string& method, const std::string& registry, bool has_credential) {
  bool write = method != "GET" && method != "HEAD";
  if (http_code == 401) {
    if (!has_credential)
      return Status::Denied("registry " + registry + " needs credentials (HTTP 401): give --registry-auth FILE");
    return Status::Denied("registry " + registry + " refused the credentials (HTTP 401)");
  }
  if (http_code == 403) {
    if (write) return Status::Denied("this registry credential may not push to " + registry + " (HTTP 403)");
    return Status::Denied("this registry credential may not read from " + registry + " (HTTP 403)");
  }
  return Status::Ok();
}

}  // namespace rv::oci
