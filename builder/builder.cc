#include "builder/builder.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

#include "builder/build_cache.h"
#include "builder/stack_choice.h"
#include "builder/unprivileged_run.h"
#include "common/oci/image_writer.h"
#include "common/oci/reference.h"
#include "strider/container/image_store.h"

namespace rv::builder {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr const char* kDefaultLaunch =
    "# /app/.rv/launch: runs the app's .profile.d scripts, then the process: one\n"
    "# argument is a Procfile command line (sh -c), several are exec'd as they are.\n"
    "cd /app || exit 126\nHOME=/app\nexport HOME\n"
    "for f in /app/.profile.d/*.sh; do [ -r \"$f\" ] && . \"$f\"; done\n"
    "[ $# -eq 1 ] && exec /bin/sh -c \"$1\"\n"
    "exec \"$@\"\n";

std::string Human(int64_t b) {
  char buf[32];
  if (b >= (1 << 20)) snprintf(buf, sizeof buf, "%.1f MB", b / 1048576.0);
  else if (b >= 1024) snprintf(buf, sizeof buf, "%.1f KB", b / 1024.0);
  else snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

std::string Secs(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

// A file the build wrote: never followed through a symlink, size capped.
Result<std::string> ReadBuildFile(const std::string& path, size_t cap) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path);
    return Status::Invalid(path + " is not a regular file the builder can read (" + strerror(errno) + ")");
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return Status::Invalid(path + " is not a regular file");
  }
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, n);
    if (out.size() > cap) {
      close(fd);
      return Status::Invalid(path + " is larger than " + std::to_string(cap) + " bytes");
    }
  }
  close(fd);
  return out;
}

Status ChownTree(const std::string& dir, uint32_t uid, uint32_t gid) {
  if (lchown(dir.c_str(), uid, gid) != 0) return Status::Io("chown " + dir + ": " + strerror(errno));
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (lchown(it->path().c_str(), uid, gid) != 0) return Status::Io("chown " + it->path().string() + ": " + strerror(errno));
  if (ec) return Status::Io("walking " + dir + ": " + ec.message());
  return Status::Ok();
}

// The source tree into app/: symlinks copied as symlinks (never followed),
// the top-level .git left out.
Status CopySource(const std::string& src, const std::string& dst) {
  std::error_code ec;
  if (!fs::is_directory(src, ec)) return Status::NotFound("source " + src + " is not a directory");
  fs::create_directories(dst, ec);
  if (ec) return Status::Io("create " + dst + ": " + ec.message());
  // increment(ec): a range-for's ++ throws on an entry it cannot read.
  for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.filename() == ".git") continue;
    fs::copy(p, dst / p.filename(), fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return Status::Io("copying the source (" + p.string() + "): " + ec.message());
  }
  if (ec) return Status::Io("reading " + src + ": " + ec.message());
  return Status::Ok();
}

bool ValidEnvName(const std::string& n) {
  if (n.empty() || n.size() > 255 || (n[0] >= '0' && n[0] <= '9')) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

// env/: a tmpfs with a copy of each config var the build may read (ENV_DIR of
// the buildpack API), owned by the build user. Values stay in memory.
Status PrepareEnv(const std::string& from, const std::string& dir, uint32_t uid, uint32_t gid, bool* mounted,
                  const std::function<void(std::string_view)>& emit) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=8m,mode=0700") != 0)
    return Status::Io("mount the env tmpfs: " + std::string(strerror(errno)));
  *mounted = true;
  if (!from.empty()) {
    if (!fs::is_directory(from, ec)) return Status::NotFound("--env-dir " + from + " is not a directory");
    for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::directory_entry& e = *it;
      std::string name = e.path().filename().string();
      std::error_code fec;
      if (!e.is_regular_file(fec) || !ValidEnvName(name)) {
        emit("-----> skipping " + name.substr(0, 64) + " in the env dir: not a config var file");
        continue;
      }
      auto v = ReadBuildFile(e.path().string(), 1 << 20);
      if (!v.ok()) return v.status();
      std::string path = dir + "/" + name;
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
      if (fd < 0) return Status::Io("create " + path + ": " + strerror(errno));
      bool ok = write(fd, v->data(), v->size()) == static_cast<ssize_t>(v->size());
      (void)!fchown(fd, uid, gid);
      close(fd);
      std::fill(v->begin(), v->end(), '\0');
      if (!ok) return Status::Io("write " + path);
    }
    if (ec) return Status::Io("reading --env-dir " + from + ": " + ec.message());
  }
  if (chown(dir.c_str(), uid, gid) != 0 || chmod(dir.c_str(), 0500) != 0)
    return Status::Io("chown " + dir + ": " + strerror(errno));
  return Status::Ok();
}

// Stack user: a numeric non-root "U[:G]" from the image, else 10000:10000.
void StackUser(const std::string& user, uint32_t* uid, uint32_t* gid) {
  *uid = *gid = 10000;
  auto num = [](const std::string& s, uint32_t* v) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    *v = static_cast<uint32_t>(std::stoul(s));
    return true;
  };
  auto colon = user.find(':');
  uint32_t u = 0, g = 0;
  if (!num(user.substr(0, colon), &u) || u == 0) return;
  *uid = u;
  *gid = u;
  if (colon != std::string::npos && num(user.substr(colon + 1), &g) && g != 0) *gid = g;
}

std::string RandomHex(int n) {
  std::mt19937_64 rng(std::random_device{}());
  std::string s;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < n; i++) s += hex[rng() % 16];
  return s;
}

// app/.rv/launch, written through directory fds opened with O_NOFOLLOW: the
// build may have left .rv (or .rv/launch) as a symlink out of the tree or as
// anything else; packs may keep their own files in a real .rv directory.
Status PlaceLauncher(const std::string& app, const std::string& buildpacks) {
  std::string launch = kDefaultLaunch;
  if (auto l = ReadBuildFile(buildpacks + "/bin/launch", 64 << 10); l.ok()) launch = *l;
  int appfd = open(app.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (appfd < 0) return Status::Io("open " + app + ": " + strerror(errno));
  struct stat sb;
  std::error_code ec;
  if (fstatat(appfd, ".rv", &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode)) unlinkat(appfd, ".rv", 0);
  if (mkdirat(appfd, ".rv", 0755) != 0 && errno != EEXIST) {
    close(appfd);
    return Status::Io("mkdir " + app + "/.rv: " + strerror(errno));
  }
  int rvfd = openat(appfd, ".rv", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  close(appfd);
  if (rvfd < 0) return Status::Io("open " + app + "/.rv: " + strerror(errno));
  if (fstatat(rvfd, "launch", &sb, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(sb.st_mode)) fs::remove_all(app + "/.rv/launch", ec);  // .rv is a real dir: no symlink on the way
    else unlinkat(rvfd, "launch", 0);
  }
  int fd = openat(rvfd, "launch", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
  close(rvfd);
  if (fd < 0) return Status::Io("create " + app + "/.rv/launch: " + strerror(errno));
  bool ok = write(fd, launch.data(), launch.size()) == static_cast<ssize_t>(launch.size());
  fchmod(fd, 0755);
  close(fd);
  return ok ? Status::Ok() : Status::Io("write " + app + "/.rv/launch");
}

// `buildpacks/bin/build --choose /app [/env]` on the host, as the build
// user over the work dir's copy of the source (owned by that user, symlinks
// not followed by the copy), bounded in time and output.
Result<StackChoice> ChooseStackFor(const std::string& buildpacks, const std::string& work, const std::string& app,
                                   const std::string& env, uint32_t uid, uint32_t gid) {
  std::string tmp = work + "/choose";
  if (mkdir(tmp.c_str(), 0700) != 0 || lchown(tmp.c_str(), uid, gid) != 0)
    return Status::Io("create " + tmp + ": " + strerror(errno));
  UnprivilegedCommand c;
  c.argv = {"/bin/sh", fs::absolute(buildpacks).string() + "/bin/build", "--choose", app, env};
  c.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "HOME=" + tmp, "TMPDIR=" + tmp};
  c.cwd = tmp;
  c.uid = uid;
  c.gid = gid;
  c.timeout_ms = 30000;
  auto r = RunUnprivileged(c);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (!r.ok()) return Status::Io("choosing the stack: " + r.status().message());
  if (r->timed_out) return Status::Invalid("choosing the stack: the buildpacks' detect took longer than 30 s");
  if (r->signal != 0) return Status::Invalid("choosing the stack: the buildpacks' detect was killed by signal " + std::to_string(r->signal));
  return ChooseStack(r->exit_code, r->output);
}

struct WorkDir {
  std::string path, env;
  bool env_mounted = false, keep = false;
  ~WorkDir() {
    if (env_mounted) umount2(env.c_str(), MNT_DETACH);
    std::error_code ec;
    if (!keep && !path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

Result<BuildResult> RunBuild(const BuilderOptions& o, const LineSink& raw_emit) {
  auto t0 = Clock::now();
  // The builder's own lines carry names from its inputs: as safe as the build's.
  auto emit = [&raw_emit](std::string_view line) {
    OutputFilter f({.max_line_bytes = 2048, .max_total_bytes = 8192}, raw_emit);
    f.Feed(line);
    f.Finish();
  };
  BuildResult res;
  // Inputs first: nothing is pulled or created for a build that cannot run.
  Status st = ValidateAppName(o.app);
  if (!st.ok()) return st;
  auto ref = oci::ParseReference(o.image);
  if (!ref.ok()) return Status::Invalid("--image: " + ref.status().message());
  if (!ref->registry.empty() || ref->tag.empty() || !ref->digest.empty())
    return Status::Invalid("--image must be REPO:TAG in --registry, not '" + o.image + "'");
  const bool auto_stack = o.stack == kAutoStack;
  std::string stack_name = o.stack;
  auto check_stack = [](const std::string& name) -> Result<oci::Reference> {
    auto r = oci::ParseReference(name);
    if (!r.ok()) return Status::Invalid("--stack: " + r.status().message());
    if (!r->registry.empty()) return Status::Invalid("--stack must be an image in --registry");
    return r;
  };
  Result<oci::Reference> stack_ref = check_stack(auto_stack ? std::string(kBusyboxStack) : o.stack);
  if (!stack_ref.ok()) return stack_ref.status();
  if (!o.cache_repo.empty() && !oci::IsValidRepo(o.cache_repo))
    return Status::Invalid("--cache-repo '" + o.cache_repo + "' is not a repository name");
  std::error_code ec;
  std::string source_repo, source_digest;
  if (!o.source_image.empty()) {
    auto sr = oci::ParseReference(o.source_image);
    if (!sr.ok()) return Status::Invalid("--source-image: " + sr.status().message());
    if (!sr->registry.empty() || sr->digest.empty())
      return Status::Invalid("--source-image must be REPO@sha256:... in --registry, not '" + o.source_image + "'");
    source_repo = sr->repo;
    source_digest = sr->digest;
  } else if (!fs::is_directory(o.source, ec)) {
    return Status::NotFound("source " + o.source + " is not a directory");
  }
  if (access((o.buildpacks + "/bin/build").c_str(), R_OK) != 0)
    return Status::NotFound("no bin/build in the buildpacks dir " + o.buildpacks);
  res.repo = ref->repo;

  std::string work_root = o.work_dir.empty() ? o.state_dir + "/work" : o.work_dir;
  if (int n = CleanStaleBuilds(o.runc, o.state_dir + "/runc", o.cgroup_parent, work_root))
    emit("-----> Cleaned up " + std::to_string(n) + " build(s) left by a builder that died");

  // 1. The stack, through the host's image store. With `--stack auto` it is
  // chosen once the source is in the work dir (step 2b), then pulled.
  container::ImageStore::Options so;
  so.root = o.state_dir + "/images";
  so.default_registry = o.registry;
  so.registry_ca = o.registry_ca;
  so.registry_auth = o.registry_auth;
  auto store = container::ImageStore::Open(so);
  if (!store.ok()) return store.status();
  std::optional<container::Image> stack;
  auto pull_stack = [&]() -> Status {
    auto t_pull = Clock::now();
    container::PullStats ps;
    auto img = (*store)->Pull(stack_name, &ps);
    if (!img.ok()) {
      if (img.status().code() == Status::Code::kNotFound && stack_ref->repo == "stack/python")
        return Status::NotFound("stack " + stack_name + " is not in the registry " + o.registry +
                                "; add it with: scripts/stack-image --python --registry " + o.registry +
                                " (scripts/pod up does; 1.5-4 min the first time on a machine)");
      return Status::FromCode(img.status().code(), "stack " + stack_name + ": " + img.status().message());
    }
    stack = std::move(*img);
    double pull_s = Since(t_pull);
    res.steps.emplace_back("stack_pull", pull_s);
    emit("-----> Stack " + stack_name + " (" + stack->manifest_digest.substr(7, 12) + "): " +
         (ps.blobs_fetched ? "pulled " + std::to_string(ps.blobs_fetched) + " blobs, " + Human(ps.bytes_fetched)
                           : std::string("cached")) +
         " in " + Secs(pull_s));
    return Status::Ok();
  };
  // The build user: the stack's. Before an automatic choice, the usual one
  // (10000); a chosen stack with another user gets the tree re-owned.
  uint32_t uid = 10000, gid = 10000;
  if (!auto_stack) {
    if (st = pull_stack(); !st.ok()) return st;
    StackUser(stack->config.user, &uid, &gid);
  }

  // 2. The work dir.
  auto t_prep = Clock::now();
  std::string id = "rvbuild-" + std::to_string(getpid()) + "-" + RandomHex(6);
  WorkDir work;
  work.keep = o.keep_work;
  work.path = work_root + "/" + id;
  fs::create_directories(work.path, ec);
  if (ec) return Status::Io("create " + work.path + ": " + ec.message());
  chmod(work.path.c_str(), 0711);
  std::string app = work.path + "/app", out = work.path + "/out";
  std::unique_ptr<oci::RegistryClient> client;
  auto registry = [&]() -> oci::RegistryClient& {
    if (!client) client = std::make_unique<oci::RegistryClient>(
          oci::RegistryClient::Options{.registry = o.registry, .ca_file = o.registry_ca, .auth_file = o.registry_auth});
    return *client;
  };
  std::string source = o.source;
  if (!source_repo.empty()) {
    CacheTransfer st_src;
    source = work.path + "/src";
    st = PullSource(registry(), source_repo, source_digest, source, work.path, &st_src);
    if (!st.ok()) return st;
    emit("-----> Source " + source_digest.substr(7, 12) + ": " + Human(st_src.bytes) + " in " + Secs(st_src.seconds));
    res.steps.emplace_back("source_pull", st_src.seconds);
  }
  st = CopySource(source, app);
  if (!source_repo.empty()) fs::remove_all(source, ec);
  if (st.ok()) st = ChownTree(app, uid, gid);
  if (!st.ok()) return st;
  chmod(app.c_str(), 0755);
  fs::create_directories(out, ec);
  if (lchown(out.c_str(), uid, gid) != 0) return Status::Io("chown " + out);
  std::string cache = o.cache_dir.empty() ? work.path + "/cache" : o.cache_dir;
  bool cache_has_files = fs::is_directory(cache, ec) && !fs::is_empty(cache, ec), cache_pulled = false;
  if (!o.cache_repo.empty() && !cache_has_files) {
    fs::remove_all(cache, ec);
    CacheTransfer ct;
    st = PullCache(registry(), o.cache_repo, cache, work.path, &ct);
    if (!st.ok()) {
      // A bad or missing cache costs time, never the build.
      emit("-----> Build cache: not used (" + st.message().substr(0, 200) + ")");
      fs::remove_all(cache, ec);
    } else {
      cache_pulled = ct.found;
      emit(ct.found ? "-----> Build cache: restored " + Human(ct.bytes) + " from " + o.cache_repo + " in " + Secs(ct.seconds)
                    : "-----> Build cache: none in " + o.cache_repo + " yet");
    }
    res.steps.emplace_back("cache_pull", ct.seconds);
  }
  fs::create_directories(cache, ec);
  if (ec) return Status::Io("create the cache dir " + cache + ": " + ec.message());
  struct stat cs;
  if (lstat(cache.c_str(), &cs) != 0 || !S_ISDIR(cs.st_mode)) return Status::Io("cache " + cache + " is not a directory");
  // A cache from the registry is as untrusted as the build that made it:
  // everything becomes the build user's (chown also clears setuid bits).
  if (cs.st_uid != uid || cache_pulled) {
    st = ChownTree(cache, uid, gid);
    if (!st.ok()) return st;
  }
  work.env = work.path + "/env";
  st = PrepareEnv(o.env_dir, work.env, uid, gid, &work.env_mounted, emit);
  if (!st.ok()) return st;
  res.steps.emplace_back("prepare", Since(t_prep));

  // 2b. `--stack auto`: the packs the driver would run decide the stack.
  if (auto_stack) {
    auto t_choose = Clock::now();
    auto choice = ChooseStackFor(o.buildpacks, work.path, app, work.env, uid, gid);
    if (!choice.ok()) return choice.status();
    stack_name = choice->stack;
    stack_ref = check_stack(stack_name);
    if (!stack_ref.ok()) return stack_ref.status();
    res.steps.emplace_back("stack_choice", Since(t_choose));
    emit("-----> Stack " + stack_name + " chosen " + choice->why);
    if (st = pull_stack(); !st.ok()) return st;
    uint32_t suid, sgid;
    StackUser(stack->config.user, &suid, &sgid);
    if (suid != uid || sgid != gid) {
      uid = suid;
      gid = sgid;
      for (const std::string& d : {app, out, cache, work.env})
        if (st = ChownTree(d, uid, gid); !st.ok()) return st;
    }
  }

  // 3. The build.
  BuildContainerSpec cs2;
  cs2.id = id;
  cs2.layer_dirs = stack->layer_dirs;
  cs2.work_dir = work.path;
  cs2.runc = o.runc;
  cs2.runc_root = o.state_dir + "/runc";
  cs2.cgroup_parent = o.cgroup_parent;
  cs2.uid = uid;
  cs2.gid = gid;
  cs2.args = {"/bin/sh", "/buildpacks/bin/build", "/app", "/cache", "/env", "/out"};
  std::vector<std::string> env = stack->config.env;
  bool has_path = false;
  for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
  if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env.push_back("HOME=/app");
  env.push_back("STACK=" + stack_ref->repo);
  env.push_back("RV_APP=" + o.app);
  cs2.env = env;
  cs2.cwd = "/app";
  std::vector<std::string> rw = {"rbind", "nosuid", "nodev"}, ro = {"rbind", "ro", "nosuid", "nodev"};
  cs2.mounts = {{"/app", "bind", app, rw},          {"/cache", "bind", cache, rw}, {"/out", "bind", out, rw},
                {"/env", "bind", work.env, ro}, {"/buildpacks", "bind", fs::absolute(o.buildpacks).string(), ro}};
  cs2.disk_dirs = {app, cache, out};
  cs2.limits = o.limits;
  cs2.cancel = o.cancel;
  emit("-----> Building " + o.app + " (" + id + "; timeout " + std::to_string(o.limits.timeout_s) + " s, memory " +
       std::to_string(o.limits.memory_mb) + " MB, " + std::to_string(o.limits.pids) + " processes, no network)");
  OutputFilter filter(o.output, raw_emit);
  auto outcome = RunBuildContainer(cs2, [&](std::string_view b) { filter.Feed(b); });
  filter.Finish();
  if (!outcome.ok()) return outcome.status();
  res.steps.emplace_back("sandbox_setup", outcome->setup_seconds);
  res.steps.emplace_back("container_start", outcome->start_seconds);
  res.steps.emplace_back("buildpacks", outcome->run_seconds);
  res.steps.emplace_back("sandbox_teardown", outcome->teardown_seconds);
  std::string why = DescribeFailure(*outcome, o.limits);
  if (!why.empty()) return Status::Invalid(why);

  // 4. What the build says it made.
  auto types_text = ReadBuildFile(out + "/process-types", 256 << 10);
  if (types_text.ok()) {
    auto t = ParseProcessTypes(*types_text);
    if (!t.ok()) return t.status();
    res.process_types = *t;
  } else if (types_text.status().code() != Status::Code::kNotFound) {
    return types_text.status();
  }
  auto packs_text = ReadBuildFile(out + "/buildpacks", 64 << 10);
  if (packs_text.ok()) {
    auto p = ParseBuildpacks(*packs_text);
    if (!p.ok()) return p.status();
    res.buildpacks = *p;
  } else if (packs_text.status().code() != Status::Code::kNotFound) {
    return packs_text.status();
  }
  if (res.process_types.empty()) emit("-----> warning: the build declared no process types");

  st = PlaceLauncher(app, o.buildpacks);
  if (!st.ok()) return st;

  oci::PushDirOptions po;
  po.repo = ref->repo;
  po.tag = ref->tag;
  po.base = stack_ref->repo + "@" + stack->manifest_digest;
  po.entrypoint = {"/bin/sh", "/app/.rv/launch"};
  std::string cmd = DefaultCommand(res.process_types);
  if (!cmd.empty()) po.cmd = {cmd};  // one argument: launch runs it as a Procfile line
  po.env = {"HOME=/app"};
  if (!has_path) po.env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  po.user = std::to_string(uid) + ":" + std::to_string(gid);
  po.working_dir = "/app";
  po.labels = {{"rivendell.process-types", ProcessTypesJson(res.process_types)},
               {"rivendell.buildpacks", BuildpacksJson(res.buildpacks)},
               {"rivendell.app", o.app},
               {"rivendell.stack", stack_ref->repo + "@" + stack->manifest_digest}};
  po.layer.prefix = "app";
  po.layer.uid = static_cast<int>(uid);
  po.layer.gid = static_cast<int>(gid);
  po.tmp_dir = work.path;
  po.created_by = "builder: app layer";
  auto pushed = oci::PushDir(registry(), app, po);
  if (!pushed.ok())
    return Status::FromCode(pushed.status().code(), "pushing the image " + o.image + ": " + pushed.status().message());
  res.digest = pushed->manifest_digest;
  res.size_bytes = pushed->image_bytes;
  res.steps.emplace_back("layer_write", pushed->layer_seconds);
  res.steps.emplace_back("push", pushed->push_seconds);
  emit("-----> Image " + o.image + ": " + Human(res.size_bytes) + " (app layer " + Human(pushed->layer.size) + ", " +
       std::to_string(pushed->layer.entries) + " files; " +
       (pushed->uploaded_blobs ? std::to_string(pushed->uploaded_blobs) + " new blobs" : std::string("nothing new")) +
       " pushed)");

  if (!o.cache_repo.empty()) {
    CacheTransfer ct;
    st = PushCache(registry(), o.cache_repo, cache, work.path, &ct);
    if (!st.ok()) emit("-----> Build cache: not saved (" + st.message().substr(0, 200) + ")");
    else emit("-----> Build cache: " + Human(ct.bytes) + (ct.uploaded ? " saved to " : " unchanged in ") + o.cache_repo +
              " in " + Secs(ct.seconds));
    res.steps.emplace_back("cache_push", ct.seconds);
  }
  res.seconds = Since(t0);
  return res;
}

}  // namespace rv::builder
