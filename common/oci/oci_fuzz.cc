// libFuzzer target: everything a registry can send us that we parse
// (manifests, indexes, image configs) and image references from users.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/oci/image.h"
#include "common/oci/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  (void)rv::oci::ParseManifest(s);
  auto idx = rv::oci::ParseIndex(s);
  if (idx.ok()) (void)rv::oci::SelectPlatform(*idx);
  (void)rv::oci::ParseImageConfig(s);
  auto r = rv::oci::ParseReference(s);
  if (r.ok()) (void)rv::oci::ParseReference(r->ToString());
  return 0;
}
