// RunBuild: one `builder run` (CONTRACTS.md section 2), start to finish:
//
//   1. pulls the stack image into the host's image store (the strider's
//      ImageStore: only missing blobs, verified, unpacked once per layer);
//   2. prepares the build's dirs in a work dir of its own: app/ (a copy of
//      the source, owned by the build user), out/, cache/ (--cache DIR, or
//      pulled from --cache-repo), env/ (a small tmpfs: config values never
//      touch the disk);
//   3. runs `/bin/sh /buildpacks/bin/build /app /cache /env /out` in the
//      build container (build_container.h), its output through OutputFilter
//      to `emit` line by line as it comes;
//   4. reads out/process-types and out/buildpacks, puts /app/.rv/launch in
//      place, pushes the image (stack layers by digest + one deterministic app
//      layer + config) with oci::PushDir, and pushes the cache if asked.
//
// Every line it produces (the build's, sanitized, and its own `-----> `
// progress lines) goes to `emit`; the caller prints the result or error line
// last. The work dir and every mount, netns, cgroup and runc state are gone
// when it returns (unless keep_work). Not thread-safe: one build per call.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>

#include "builder/build_container.h"
#include "builder/build_result.h"
#include "builder/output_filter.h"
#include "common/status.h"

namespace rv::builder {

struct BuilderOptions {
  std::string source;                     // the app's source tree
  std::string source_image;               // or: REPO@sha256:... in --registry, one layer (a build job's source)
  std::string app;                        // TENANT/ENV/APP
  std::string registry;                   // HOST:PORT
  std::string registry_ca;                // the pod CA: https ("" = http)
  std::string registry_auth;              // push credential file (user:password)
  std::string image;                      // REPO:TAG to push
  std::string stack = "stack/busybox:latest";
  std::string buildpacks;                 // dir holding bin/build
  std::string cache_dir;                  // "" = none kept on this host
  std::string cache_repo;                 // "" = none kept in the registry
  std::string env_dir;                    // one file per config var
  std::string work_dir;                   // "" = <state_dir>/work/<id>
  std::string state_dir = "/var/lib/rivendell/builder";
  std::string runc = "/usr/sbin/runc";
  std::string cgroup_parent = "/rivendell-builder";
  BuildLimits limits;
  OutputFilter::Options output;
  bool keep_work = false;
  const std::atomic<bool>* cancel = nullptr;
};

using LineSink = std::function<void(std::string_view line)>;

Result<BuildResult> RunBuild(const BuilderOptions& o, const LineSink& emit);

}  // namespace rv::builder
