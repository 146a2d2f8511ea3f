// builder: runs one buildpack build in an isolated runc container and pushes
// the resulting OCI image (CONTRACTS.md section 2; docs/BUILDER.md).
//
//   builder run --source DIR | --source-image REPO@DIGEST --app TENANT/ENV/APP --registry HOST:PORT --image REPO:TAG [...]
//
// stdout: the build's sanitized output and `-----> ` progress lines, as they
// come, then exactly one last line: `builder: result {...}` (exit 0) or
// `builder: error <reason>` (exit 1; 2 for bad arguments).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "builder/build_reporter.h"
#include "builder/builder.h"
#include "common/stop_signal.h"

namespace {

void PrintLine(std::string_view line) {
  fwrite(line.data(), 1, line.size(), stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

// <repo>/buildpacks for a binary at <repo>/build*/builder/builder, or an installed copy.
std::string DefaultBuildpacks() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path d = exe.parent_path();
    for (int up = 0; up < 4 && !d.empty(); up++, d = d.parent_path())
      if (fs::exists(d / "buildpacks/bin/build", ec)) return (d / "buildpacks").string();
  }
  return "/usr/share/rivendell/buildpacks";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"builder: buildpack builds into OCI images"};
  cli.require_subcommand(1);
  auto* run = cli.add_subcommand("run", "build DIR and push the image");
  rv::builder::BuilderOptions o;
  auto* src = run->add_option("--source", o.source, "the app's source tree");
  auto* src_img = run->add_option("--source-image", o.source_image, "or: the source as a one-layer image REPO@sha256:... in --registry");
  src->excludes(src_img);
  rv::builder::ReporterOptions rep;
  run->add_option("--report-sauron", rep.sauron, "also send the output to build --report-build of --app in sauron (endpoint)");
  run->add_option("--report-server-key", rep.server_key, "sauron's public key (Z85)");
  run->add_option("--report-key", rep.key_file, "this host's key pair file");
  run->add_option("--report-job", rep.job_id, "the build job placed on this host");
  run->add_option("--report-build", rep.build, "the build record's number")->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  run->add_option("--app", o.app, "TENANT/ENV/APP")->required();
  run->add_option("--registry", o.registry, "HOST:PORT of the pod's registry")->required();
  run->add_option("--registry-ca", o.registry_ca, "the pod CA: reach the registry over https, verified by it");
  run->add_option("--registry-auth", o.registry_auth, "credential file (user:password, 0600) that may push");
  run->add_option("--image", o.image, "REPO:TAG to push")->required();
  run->add_option("--stack", o.stack, "stack image in the registry, or auto: stack/python for the python buildpack, else stack/busybox")->capture_default_str();
  run->add_option("--buildpacks", o.buildpacks, "buildpacks dir (holds bin/build)");
  run->add_option("--cache", o.cache_dir, "build cache dir kept on this host");
  run->add_option("--cache-repo", o.cache_repo, "keep the build cache in the registry as REPO:latest");
  run->add_option("--env-dir", o.env_dir, "one file per config var");
  run->add_option("--work", o.work_dir, "where build dirs are made (default <state-dir>/work)");
  run->add_option("--state-dir", o.state_dir, "image store and runc state")->capture_default_str();
  run->add_option("--timeout-s", o.limits.timeout_s)->capture_default_str()->check(CLI::Range(1, 86400));
  run->add_option("--memory-mb", o.limits.memory_mb)->capture_default_str()->check(CLI::Range(16, 1 << 20));
  run->add_option("--pids", o.limits.pids)->capture_default_str()->check(CLI::Range(16, 1 << 20));
  run->add_option("--cpus", o.limits.cpus)->capture_default_str()->check(CLI::Range(0.01, 1024.0));
  run->add_option("--disk-mb", o.limits.disk_mb, "/app + /cache + /out")->capture_default_str()->check(CLI::Range(1, 1 << 24));
  run->add_option("--tmp-mb", o.limits.tmp_mb, "/tmp tmpfs size")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  run->add_option("--max-output-bytes", o.output.max_total_bytes)->capture_default_str()->check(CLI::Range(1024, 1 << 30));
  run->add_option("--max-line-bytes", o.output.max_line_bytes)->capture_default_str()->check(CLI::Range(16, 1 << 20));
  run->add_option("--runc", o.runc)->capture_default_str();
  run->add_option("--cgroup-parent", o.cgroup_parent)->capture_default_str();
  run->add_flag("--keep-work", o.keep_work, "leave the work dir (debugging)");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = cli.exit(e);
    if (rc != 0) PrintLine(rv::builder::ErrorLine("bad arguments: " + std::string(e.what())));
    return rc == 0 ? 0 : 2;
  }
  if (o.source.empty() && o.source_image.empty()) {
    PrintLine(rv::builder::ErrorLine("bad arguments: give --source DIR or --source-image REPO@DIGEST"));
    return 2;
  }
  if (o.buildpacks.empty()) o.buildpacks = DefaultBuildpacks();
  std::unique_ptr<rv::builder::BuildReporter> reporter;
  if (!rep.sauron.empty()) {
    rep.app = o.app;
    auto r = rv::builder::BuildReporter::Start(rep);
    if (!r.ok()) {
      PrintLine(rv::builder::ErrorLine("bad arguments: " + r.status().message()));
      return 2;
    }
    reporter = std::move(*r);
  }
  // Every line to stdout (the job's log) and, for a build job, to its record.
  auto emit = [&](std::string_view line) {
    PrintLine(line);
    if (reporter) reporter->Add(std::string(line));
  };
  if (geteuid() != 0) {
    emit(rv::builder::ErrorLine("the builder needs root (runc, mounts, cgroups, netns)"));
    return 1;
  }
  // SIGTERM/SIGINT/SIGHUP cancel the build; SIGPIPE is ignored: a reader
  // that went away must not stop the cleanup.
  rv::stop_signal::Install({SIGHUP});
  o.cancel = &rv::stop_signal::Flag();
  auto r = rv::builder::RunBuild(o, emit);
  int rc = 0;
  if (!r.ok()) {
    emit(rv::builder::ErrorLine(r.status().message()));
    rc = 1;
  } else {
    emit(rv::builder::ResultLine(*r));
  }
  if (reporter) reporter->Close();
  return rc;
}
