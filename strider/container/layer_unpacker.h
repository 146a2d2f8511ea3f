// UnpackLayer: extracts one OCI layer (tar, tar+gzip, tar+zstd) into its own
// directory, in the form overlayfs wants for a `lowerdir`.
//
// The layer is hostile until proven otherwise. We do not rely on libarchive's
// extraction (archive_write_disk) at all: every entry is created with *at()
// calls relative to a directory fd we walked to one component at a time with
// O_NOFOLLOW, so nothing is ever written through a symlink or outside `dest`.
// Refused (the whole layer fails, Status::Invalid, caller deletes `dest`):
//   - absolute entry names and any ".." component,
//   - hard links whose target is absolute, has "..", or is not in this layer,
//   - relative symlinks that climb above the rootfs ("../../../etc"),
//   - absolute symlinks when opt.allow_absolute_symlinks is false (they are
//     never followed while extracting; at run time the kernel resolves them
//     inside the container's root, which is why Debian-style stacks need them),
//   - entries whose parent path runs through a symlink or a non-directory,
//   - more than max_bytes of file data or max_entries entries.
// Converted: `.wh.NAME` -> a 0/0 character device NAME (overlayfs whiteout);
// `.wh..wh..opq` -> xattr trusted.overlay.opaque="y" on its directory.
// Kept: modes (incl. setuid), owners, mtimes, hard links, FIFOs. Device nodes
// are skipped (runc gives containers their own /dev).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rv::container {

struct UnpackOptions {
  bool allow_absolute_symlinks = true;
  int64_t max_bytes = 8LL << 30;
  int64_t max_entries = 1 << 20;
};

struct UnpackStats {
  int64_t entries = 0, bytes = 0, whiteouts = 0, skipped = 0;
};

Status UnpackLayer(const std::string& blob_path, const std::string& dest, const UnpackOptions& opt = {},
                   UnpackStats* stats = nullptr);

}  // namespace rv::container
