// OCI image documents: descriptors, image manifests, image indexes and image
// configs (image-spec v1), plus the Docker v2 schema 2 equivalents a registry
// may hold. Parsing is strict about what we rely on (digests valid, sizes
// non-negative, media types known) and ignores what we do not use, so a
// hostile manifest gives a clear Status instead of a crash or a path trick.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace rv::oci {

inline constexpr const char* kMediaManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kMediaIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kMediaConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kMediaLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kMediaLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kMediaLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kMediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kMediaDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kMediaDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kMediaDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";

// Largest manifest/config we accept; real ones are a few KB.
inline constexpr size_t kMaxDocumentBytes = 4 << 20;

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::string platform_os, platform_arch;  // index entries only
  std::map<std::string, std::string> annotations;
};

struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::vector<Descriptor> manifests;
};

// The parts of an image config a runtime needs.
struct ImageConfig {
  std::vector<std::string> env;         // "K=V"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string user;
  std::vector<std::string> exposed_ports;  // "8080/tcp"
  std::map<std::string, std::string> labels;
  std::vector<std::string> diff_ids;
  nlohmann::json raw;  // the whole document, to extend when writing a new image
};

bool IsManifestMediaType(const std::string& mt);
bool IsIndexMediaType(const std::string& mt);
bool IsLayerMediaType(const std::string& mt);

Result<Manifest> ParseManifest(const std::string& body);
Result<Index> ParseIndex(const std::string& body);
Result<ImageConfig> ParseImageConfig(const std::string& body);

nlohmann::json DescriptorJson(const Descriptor& d);
std::string SerializeManifest(const Manifest& m);  // OCI image manifest

// Picks linux/amd64 (or the only entry) out of an index.
Result<Descriptor> SelectPlatform(const Index& idx, const std::string& arch = "amd64");

}  // namespace rv::oci
