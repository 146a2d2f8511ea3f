// Image writing on top of RegistryClient: resolve an image (manifest + config),
// push a directory as a new layer over a base image, and export an image to an
// OCI image layout directory (for tools that load images from disk, e.g.
// `podman pull oci:DIR`).
//
// PushDir never uploads bytes the registry already has: base layers are
// cross-mounted from the base repository (or found by HEAD), and an unchanged
// app layer hashes to the same digest.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/oci/image.h"
#include "common/oci/layer_writer.h"
#include "common/oci/reference.h"
#include "common/oci/registry_client.h"

namespace rv::oci {

struct ResolvedImage {
  std::string manifest_digest;
  std::string manifest_body;
  Manifest manifest;
  std::string config_body;
  ImageConfig config;
};

// Follows an index to the linux/amd64 manifest; fetches and parses the config.
Result<ResolvedImage> ResolveImage(RegistryClient& c, const std::string& repo, const std::string& ref);

struct PushDirOptions {
  std::string repo, tag;
  std::string base;                      // "repo:tag" in the same registry, "" = from scratch
  std::vector<std::string> entrypoint;   // empty: keep the base's
  std::vector<std::string> cmd;          // empty: keep the base's
  std::vector<std::string> env;          // "K=V", appended (replacing same K)
  std::string user, working_dir;         // "" = keep
  std::vector<std::string> exposed_ports;  // "8080/tcp"
  std::map<std::string, std::string> labels;
  LayerOptions layer;
  std::string tmp_dir = "/tmp";
  std::string created_by = "rv-image push-dir";  // the history entry of the new layer
};

struct PushResult {
  std::string manifest_digest;
  LayerInfo layer;
  int uploaded_blobs = 0;
  int64_t image_bytes = 0;       // config + every layer, compressed (what a cold pull moves)
  double layer_seconds = 0;      // packing the layer
  double push_seconds = 0;       // blobs + manifest to the registry
};

Result<PushResult> PushDir(RegistryClient& c, const std::string& dir, const PushDirOptions& o);

// Writes DIR/oci-layout, DIR/index.json (ref.name = tag) and DIR/blobs/sha256/*.
Status ExportOciLayout(RegistryClient& c, const std::string& repo, const std::string& ref, const std::string& dir,
                       const std::string& tag);

// The reverse, for a layout ExportOciLayout wrote (one image manifest in
// index.json): pushes its blobs (only those the registry lacks) and the
// manifest as REPO:TAG. Every file is checked against its digest first, so a
// damaged layout pushes nothing. Returns the manifest digest.
Result<std::string> ImportOciLayout(RegistryClient& c, const std::string& dir, const std::string& repo,
                                    const std::string& tag);

}  // namespace rv::oci
