// WriteLayer: packs a directory into an OCI layer (tar + gzip) with libarchive
// and zlib, computing in one pass both digests an image needs: the layer's
// `digest` (sha256 of the compressed blob, its registry name) and its `diff_id`
// (sha256 of the uncompressed tar, listed in the image config).
//
// Entries are written in sorted order with paths relative to the directory,
// hard links preserved, and (by default) mtimes zeroed and owner forced, so the
// same tree always gives the same digest: pushing it twice moves no bytes.
// Symlinks are stored, never followed. Sockets and devices are skipped.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rv::oci {

struct LayerOptions {
  bool zero_mtime = true;
  int uid = 0, gid = 0;     // forced owner; -1 keeps the files' own
  std::string prefix;       // "app": entries are app/, app/<path> (the dir itself first)
};

struct LayerInfo {
  std::string digest;       // sha256 of the .tar.gz
  std::string diff_id;      // sha256 of the .tar
  int64_t size = 0;         // bytes of the .tar.gz
  int64_t entries = 0;
};

// Writes the layer to `out_path` (created, 0600).
Result<LayerInfo> WriteLayer(const std::string& dir, const std::string& out_path, const LayerOptions& opt = {});

}  // namespace rv::oci
