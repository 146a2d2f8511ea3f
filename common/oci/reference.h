// Reference: a parsed image reference, "[registry/]repo[:tag][@sha256:...]".
//
// The registry part is recognized as in Docker: the first path component is a
// registry when it holds a '.' or ':' or is "localhost". Repository components
// are restricted to [a-z0-9._-] (no "..", no empty parts) so a reference can
// never become a path or URL trick. Without a tag or digest the tag is "latest".
#pragma once

#include <string>

#include "common/status.h"

namespace rv::oci {

struct Reference {
  std::string registry;  // "127.0.0.1:5000"; "" = the caller's default registry
  std::string repo;      // "tenant/app"
  std::string tag;       // "v3" (may be empty when digest is set)
  std::string digest;    // "sha256:..." or ""

  // The manifest reference to ask the registry for: the digest if any, else the tag.
  std::string ManifestRef() const { return digest.empty() ? tag : digest; }
  std::string ToString() const;
};

Result<Reference> ParseReference(const std::string& s);
bool IsValidRepo(const std::string& repo);
bool IsValidTag(const std::string& tag);

}  // namespace rv::oci
