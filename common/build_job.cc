#include "common/build_job.h"

#include <algorithm>

#include "common/names.h"

namespace rv::build_job {
namespace {

bool ParseInt(const std::string& s, int64_t lo, int64_t hi, int64_t* out) {
  if (s.empty() || s.size() > 12) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool ValidEnvName(const std::string& n) {
  if (n.empty() || n.size() > 255 || (n[0] >= '0' && n[0] <= '9')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "auto", or REPO:TAG with the registry's repository and tag alphabets; no
// registry host, no digest, no option-looking first character.
bool ValidStack(const std::string& s) {
  if (s == "auto") return true;  // the builder picks the stack from the buildpacks
  auto colon = s.rfind(':');
  if (s.empty() || s.size() > 200 || colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  std::string repo = s.substr(0, colon), tag = s.substr(colon + 1);
  if (!((repo[0] >= 'a' && repo[0] <= 'z') || (repo[0] >= '0' && repo[0] <= '9'))) return false;
  bool repo_ok = std::all_of(repo.begin(), repo.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
  });
  bool tag_ok = tag.size() <= 128 && std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
  return repo_ok && tag_ok && repo.find("..") == std::string::npos && repo.find("//") == std::string::npos &&
         repo.back() != '/';
}

std::string Get(const msg::JobSpec& s, const char* k) {
  auto it = s.config.find(k);
  return it == s.config.end() ? "" : it->second;
}

}  // namespace

Status ValidateSourceRef(const std::string& app, const std::string& ref) {
  const std::string want = "sources/" + app + "@sha256:";
  if (ref.size() != want.size() + 64 || ref.compare(0, want.size(), want) != 0) {
    return Status::Invalid("build source must be " + want + "<64 hex>, not " + names::Quote(ref));
  }
  for (size_t i = want.size(); i < ref.size(); ++i) {
    char c = ref[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return Status::Invalid("build source digest is not hex");
  }
  return Status::Ok();
}

msg::JobSpec MakeBuildJobSpec(const BuildJob& b, const std::string& nonce) {
  msg::JobSpec j;
  std::string dotted = b.app;
  std::replace(dotted.begin(), dotted.end(), '/', '.');
  j.id = dotted + ".build.b" + std::to_string(b.number) + "." + nonce;
  j.kind = kKind;
  j.tenant = b.app.substr(0, b.app.find('/'));
  j.app = b.app.substr(b.app.rfind('/') + 1);
  // No env: a build gets no overlay address and no secrets (only plain vars, below).
  j.service = b.app + ":build.b" + std::to_string(b.number);
  j.resources.ram_mb = b.memory_mb;
  j.resources.cpu_millis = b.cpu_millis;
  j.rules.constraints["role"] = "build";
  j.restart = "never";
  j.config[kApp] = b.app;
  j.config[kNumber] = std::to_string(b.number);
  j.config[kSource] = b.source;
  if (!b.stack.empty()) j.config[kStack] = b.stack;
  j.config[kTimeout] = std::to_string(b.timeout_s);
  for (const auto& [k, v] : b.env) j.config[std::string(kEnvPrefix) + k] = v;
  return j;
}

Result<BuildJob> ParseBuildJob(const msg::JobSpec& spec) {
  if (spec.kind != kKind) return Status::Invalid("not a build job (kind " + names::Quote(spec.kind) + ")");
  BuildJob b;
  b.app = Get(spec, kApp);
  auto ref = names::ParseAppRef(b.app);
  if (!ref.ok()) return Status::Invalid("build job: " + ref.status().message());
  if (!ParseInt(Get(spec, kNumber), 1, int64_t{1} << 40, &b.number)) return Status::Invalid("build job: bad build number");
  b.source = Get(spec, kSource);
  if (Status s = ValidateSourceRef(b.app, b.source); !s.ok()) return s;
  b.stack = Get(spec, kStack);
  if (!b.stack.empty() && !ValidStack(b.stack)) return Status::Invalid("build job: bad stack " + names::Quote(b.stack));
  int64_t t = 0;
  if (!ParseInt(Get(spec, kTimeout), 1, 86400, &t)) return Status::Invalid("build job: bad timeout");
  b.timeout_s = static_cast<int32_t>(t);
  if (spec.resources.ram_mb < 16 || spec.resources.ram_mb > (1 << 20)) return Status::Invalid("build job: memory out of range");
  b.memory_mb = spec.resources.ram_mb;
  if (spec.resources.cpu_millis < 0 || spec.resources.cpu_millis > 1024 * 1000)
    return Status::Invalid("build job: cpu out of range");
  b.cpu_millis = spec.resources.cpu_millis;
  const std::string pre = kEnvPrefix;
  for (const auto& [k, v] : spec.config) {
    if (k.compare(0, pre.size(), pre) != 0) continue;
    std::string name = k.substr(pre.size());
    if (!ValidEnvName(name)) return Status::Invalid("build job: bad config var name " + names::Quote(name));
    b.env[name] = v;
  }
  return b;
}

std::vector<std::string> BuilderArgv(const BuildJob& b, const BuilderHost& h) {
  std::vector<std::string> a = {h.builder, "run", "--source-image", b.source, "--app", b.app,
                                "--registry", h.registry, "--image", b.ImageRef(), "--cache-repo", b.CacheRepo(),
                                "--timeout-s", std::to_string(b.timeout_s), "--memory-mb", std::to_string(b.memory_mb)};
  if (b.cpu_millis > 0) {
    // The reservation places the job; the build may use at least a core
    // (as a container's CPU does, strider/container/runtime_spec.h).
    char cpus[32];
    snprintf(cpus, sizeof cpus, "%.3f", static_cast<double>(std::max<int64_t>(b.cpu_millis, 1000)) / 1000.0);
    a.insert(a.end(), {"--cpus", cpus});
  }
  if (!b.stack.empty()) a.insert(a.end(), {"--stack", b.stack});
  if (!h.registry_ca.empty()) a.insert(a.end(), {"--registry-ca", h.registry_ca});
  if (!h.registry_auth.empty()) a.insert(a.end(), {"--registry-auth", h.registry_auth});
  if (!h.state_dir.empty()) a.insert(a.end(), {"--state-dir", h.state_dir});
  if (!h.work_dir.empty()) a.insert(a.end(), {"--work", h.work_dir});
  if (!h.env_dir.empty()) a.insert(a.end(), {"--env-dir", h.env_dir});
  if (!h.report_sauron.empty()) {
    a.insert(a.end(), {"--report-sauron", h.report_sauron, "--report-server-key", h.report_server_key, "--report-key",
                       h.report_key_file, "--report-job", h.job_id, "--report-build", std::to_string(b.number)});
  }
  return a;
}

Status MayAppendBuildOutput(const msg::JobRecord& job, const std::string& host_id, const std::string& app,
                            int64_t number) {
  if (job.spec.kind != kKind) return Status::Denied("job " + names::Quote(job.spec.id) + " is not a build job");
  if (job.state != "placed" || job.host_id != host_id) {
    return Status::Denied("build job " + names::Quote(job.spec.id) + " is not placed on " + names::Quote(host_id));
  }
  auto a = job.spec.config.find(kApp);
  auto n = job.spec.config.find(kNumber);
  if (a == job.spec.config.end() || n == job.spec.config.end() || a->second != app || n->second != std::to_string(number)) {
    return Status::Denied("build job " + names::Quote(job.spec.id) + " is not build #" + std::to_string(number) + " of " +
                          names::Quote(app));
  }
  return Status::Ok();
}

}  // namespace rv::build_job
