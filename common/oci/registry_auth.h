// Registry credentials and TLS for RegistryClient: the pod's registry takes
// HTTP basic auth over TLS from its CA (docs/CONTAINERS.md "Registry").
//
// A credential file holds one line `user:password`, mode 0600 (a file other
// users may read is refused). A CA file means TLS: a bare HOST:PORT becomes
// https://, and credentials are only ever sent over https. The decisions
// (parse, URL, what a 401/403 means) are pure; LoadCredential is the only I/O.
// Passwords never appear in a Status message. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace rv::oci {

struct RegistryCredential {
  std::string user;
  std::string password;
  bool empty() const { return user.empty(); }
};

// "user:password" (one line, optional trailing newline). User: [A-Za-z0-9._-]{1,64};
// password: 8..256 printable characters without spaces.
Result<RegistryCredential> ParseCredential(std::string_view text);

// Reads and parses `path`; refuses a file group or others may read.
Result<RegistryCredential> LoadCredential(const std::string& path);

// The base URL for `registry` ("HOST:PORT" or "http(s)://HOST:PORT"): a bare
// HOST:PORT is https when `tls` (a CA file was given), else http. No trailing '/'.
std::string RegistryBaseUrl(const std::string& registry, bool tls);

// Credentials over plain http are refused: they would cross the network readable.
Status CheckCredentialTransport(const std::string& base_url, bool has_credential);

// What a 401 or 403 from the registry means for `method` (HEAD/GET read,
// the rest write); Ok for any other code.
Status RefusalStatus(long http_code, const std::string& method, const std::string& registry, bool has_credential);

}  // namespace rv::oci
