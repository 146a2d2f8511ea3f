// gitrecv setup / gitrecv run: the git server's sshd, its own config, host
// key and port, for one system user.
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "common/config.h"
#include "common/names.h"
#include "common/transport/keys.h"
#include "gitrecv/commands.h"
#include "gitrecv/deploy_runner.h"
#include "gitrecv/process.h"
#include "gitrecv/sauron_link.h"

namespace rv::gitrecv {
namespace {

namespace fs = std::filesystem;

int Fail(const std::string& why) {
  std::cerr << "gitrecv setup: " << why << "\n";
  return 1;
}

// sshd runs AuthorizedKeysCommand only if it and every directory above it
// are root's and writable by nobody else.
Status CheckSshdSafe(const std::string& path) {
  for (fs::path p = path; ; p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) return Status::NotFound("cannot stat " + p.string());
    if (st.st_uid != 0 || (st.st_mode & 022) != 0) {
      return Status::Denied(p.string() + " must be owned by root and not group/world-writable: sshd refuses to run " +
                            path + " as AuthorizedKeysCommand otherwise (install gitrecv elsewhere, e.g. /usr/local/bin)");
    }
    if (p == p.parent_path()) break;
  }
  return Status::Ok();
}

// sshd runs AuthorizedKeysCommand only from a root-owned path nobody else may
// write (a checkout under /tmp or a home is not): then a copy of the binary
// goes to /run/rivendell/gitrecv/<hash of DIR>/, which is. Returns the path
// sshd is to run.
Result<std::string> SshdSafeBinary(const std::string& self, const std::string& dir) {
  if (CheckSshdSafe(self).ok()) return self;
  char tag[17];
  snprintf(tag, sizeof tag, "%016zx", std::hash<std::string>{}(dir));
  const fs::path bindir = fs::path("/run/rivendell/gitrecv") / tag;
  std::error_code ec;
  fs::create_directories(bindir, ec);
  if (ec) return Status::Io("cannot create " + bindir.string() + ": " + ec.message());
  for (fs::path p = bindir; p != "/run"; p = p.parent_path()) chmod(p.c_str(), 0755);
  const fs::path copy = bindir / "gitrecv";
  const fs::path tmp = bindir / "gitrecv.new";
  fs::copy_file(self, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec || chmod(tmp.c_str(), 0755) != 0 || rename(tmp.c_str(), copy.c_str()) != 0) {
    return Status::Io("cannot copy " + self + " to " + copy.string() + (ec ? ": " + ec.message() : ""));
  }
  if (Status s = CheckSshdSafe(copy.string()); !s.ok()) return s;
  return copy.string();
}

// The git user must reach DIR (repos, config) through every parent.
Status CheckTraversable(const std::string& dir, uid_t uid) {
  for (fs::path p = fs::path(dir).parent_path(); ; p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) return Status::NotFound("cannot stat " + p.string());
    if (st.st_uid != uid && (st.st_mode & 0001) == 0) {
      return Status::Denied(p.string() + " is not searchable by others; the git user cannot reach " + dir +
                            " (chmod o+x " + p.string() + ")");
    }
    if (p == p.parent_path()) break;
  }
  return Status::Ok();
}

Status EnsureUser(const std::string& user) {
  if (getpwnam(user.c_str()) != nullptr) return Status::Ok();
  const std::string home = "/var/lib/" + user;
  if (Run({"useradd", "--system", "--user-group", "--home-dir", home, "--create-home", "--shell", "/bin/sh", user}) != 0) {
    return Status::Io("useradd " + user + " failed");
  }
  // '*': no password, yet not "locked" ('!'), which sshd would refuse.
  if (Run({"usermod", "-p", "*", user}) != 0) return Status::Io("usermod " + user + " failed");
  return Status::Ok();
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << text;
    if (!out) return Status::Io("cannot write " + tmp);
  }
  if (chmod(tmp.c_str(), mode) != 0 || rename(tmp.c_str(), path.c_str()) != 0) return Status::Io("cannot write " + path);
  return Status::Ok();
}

std::string DefaultOnPush(const fs::path& self_dir) {
  for (const char* rel : {"rv-deploy", "../deploy/rv-deploy", "../releases/rv-deploy", "../cli/rv-deploy"}) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(self_dir / rel, ec);
    if (!ec && access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "rv-deploy";
}

// rv next to gitrecv (a build tree or an install), else on PATH.
std::string DefaultRv(const fs::path& self_dir) {
  for (const char* rel : {"rv", "../cli/rv"}) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(self_dir / rel, ec);
    if (!ec && access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "rv";
}

bool Quotable(const std::string& s) { return s.find_first_of("'\"\\ \n\t%") == std::string::npos; }

}  // namespace

std::string SshdConfig(const GitrecvConfig& cfg, const std::string& dir) {
  std::string c;
  c += "# Written by gitrecv setup: the git server's own sshd (not the machine's).\n";
  c += "Port " + std::to_string(cfg.port) + "\n";
  c += "ListenAddress " + cfg.listen + "\n";
  c += "HostKey " + dir + "/ssh_host_ed25519_key\n";
  c += "PidFile " + dir + "/sshd.pid\n";
  c += "AllowUsers " + cfg.user + "\n";
  c += "PermitRootLogin no\n";
  c += "PubkeyAuthentication yes\n";
  c += "PasswordAuthentication no\n";
  c += "KbdInteractiveAuthentication no\n";
  c += "HostbasedAuthentication no\n";
  c += "UsePAM no\n";
  c += "AuthenticationMethods publickey\n";
  c += "# Keys come from sauron, never from a file.\n";
  c += "AuthorizedKeysFile none\n";
  c += "AuthorizedKeysCommand " + cfg.binary + " --config " + cfg.path + " keys %u %t %k\n";
  c += "AuthorizedKeysCommandUser " + cfg.user + "\n";
  c += "DisableForwarding yes\n";
  c += "AllowTcpForwarding no\n";
  c += "AllowAgentForwarding no\n";
  c += "AllowStreamLocalForwarding no\n";
  c += "X11Forwarding no\n";
  c += "PermitTunnel no\n";
  c += "PermitTTY no\n";
  c += "PermitUserEnvironment no\n";
  c += "PermitUserRC no\n";
  c += "PrintMotd no\n";
  c += "PrintLastLog no\n";
  c += "AcceptEnv GIT_PROTOCOL\n";
  c += "MaxAuthTries 6\n";
  c += "LoginGraceTime 30\n";
  c += "ClientAliveInterval 30\n";
  c += "MaxStartups 64:30:256\n";
  c += "LogLevel VERBOSE\n";
  return c;
}

int RunSetup(const SetupOptions& o, const std::string& self_arg) {
  if (geteuid() != 0) return Fail("run as root (it creates the git user and sshd's host key)");
  if (Status s = names::ValidateName(o.user, "git user"); !s.ok()) return Fail(s.message());
  auto pod = LoadPodConfig(o.pod);
  if (!pod.ok()) return Fail(pod.status().message());
  std::error_code ec;
  const std::string dir = fs::absolute(o.dir).lexically_normal().string();
  const std::string self = fs::canonical(self_arg, ec).string();
  if (ec) return Fail("cannot find my own binary: " + ec.message());
  if (!Quotable(dir) || !Quotable(self)) return Fail("paths of the binary and DIR may not hold spaces, quotes or %");
  auto sshd_binary = SshdSafeBinary(self, dir);
  if (!sshd_binary.ok()) return Fail(sshd_binary.status().message());
  // A copy in /run (tmpfs: RAM) is named only by gitrecv.json, written last,
  // and removed by `scripts/pod down` through it: a setup that fails removes it.
  struct RemoveCopyUnlessKept {
    std::string dir;  // "" once kept, or when no copy was made
    ~RemoveCopyUnlessKept() {
      std::error_code e;
      if (!dir.empty()) fs::remove_all(dir, e);
    }
  } copy{*sshd_binary != self ? fs::path(*sshd_binary).parent_path().string() : ""};

  GitrecvConfig cfg;
  cfg.user = o.user;
  cfg.listen = o.listen;
  cfg.port = o.port;
  cfg.repo_root = dir + "/repos";
  cfg.on_push = {o.on_push.empty() ? DefaultOnPush(fs::path(self).parent_path()) : o.on_push};
  if (o.on_push.empty()) {
    cfg.on_push.push_back("--pod");
    cfg.on_push.push_back(fs::absolute(o.pod).string());
  }
  // The console's and the app commands' prefix: the option's command, none
  // for "off", else rv next to gitrecv on this pod (+ `rest`).
  auto rv_prefix = [&](const std::string& option, std::vector<std::string> rest) -> std::vector<std::string> {
    if (option == "off") return {};
    if (!option.empty()) return {option};
    std::vector<std::string> argv = {DefaultRv(fs::path(self).parent_path()), "--pod", fs::absolute(o.pod).string()};
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
  };
  cfg.on_run = rv_prefix(o.on_run, {"run"});
  cfg.on_app = rv_prefix(o.on_app, {});
  cfg.max_repo_bytes = o.max_repo_bytes;
  cfg.hook_timeout_s = o.hook_timeout_s;
  cfg.sauron_api = pod->sauron.api;
  cfg.sauron_public_key = pod->sauron.public_key;
  if (cfg.sauron_public_key.empty()) {
    auto k = transport::LoadPublicKey(pod->KeyPath("sauron") + ".pub");
    if (!k.ok()) return Fail("sauron's public key: " + k.status().message());
    cfg.sauron_public_key = *k;
  }
  cfg.client_key = dir + "/client.key";
  cfg.pod = fs::absolute(o.pod).string();
  cfg.binary = *sshd_binary;  // rv-deploy is still found next to `self` (DefaultOnPush)
  cfg.path = dir + "/gitrecv.json";
  if (!o.on_push_as_git_user) cfg.runner_socket = dir + "/run/deploy.sock";

  if (Status s = EnsureUser(cfg.user); !s.ok()) return Fail(s.message());
  struct passwd* pw = getpwnam(cfg.user.c_str());
  if (!pw) return Fail("user " + cfg.user + " does not exist");
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;

  fs::create_directories(cfg.repo_root, ec);
  if (ec) return Fail("cannot create " + cfg.repo_root + ": " + ec.message());
  chmod(dir.c_str(), 0755);
  if (chown(cfg.repo_root.c_str(), uid, gid) != 0 || chmod(cfg.repo_root.c_str(), 0700) != 0) {
    return Fail("cannot give " + cfg.repo_root + " to " + cfg.user);
  }
  if (Status s = CheckTraversable(dir, uid); !s.ok()) return Fail(s.message());

  // The key gitrecv shows sauron (see sauron_link.h), readable by the git user only.
  auto key = transport::LoadKeypair(ClientKeyFileFor(*pod));
  if (!key.ok()) return Fail("sauron client key: " + key.status().message());
  if (Status s = transport::SaveKeypair(cfg.client_key, *key); !s.ok()) return Fail(s.message());
  if (chown(cfg.client_key.c_str(), uid, gid) != 0 || chmod(cfg.client_key.c_str(), 0600) != 0) {
    return Fail("cannot give " + cfg.client_key + " to " + cfg.user);
  }
  const std::string host_key = dir + "/ssh_host_ed25519_key";
  if (access(host_key.c_str(), R_OK) != 0) {
    if (Run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gitrecv", "-f", host_key}) != 0) {
      return Fail("ssh-keygen failed");
    }
  }
  if (Status s = WriteFile(cfg.path, GitrecvConfigJson(cfg), 0644); !s.ok()) return Fail(s.message());
  if (Status s = WriteFile(dir + "/sshd_config", SshdConfig(cfg, dir), 0644); !s.ok()) return Fail(s.message());
  const std::string url = "ssh://" + cfg.user + "@" + cfg.listen + ":" + std::to_string(cfg.port);
  if (Status s = WriteFile(dir + "/url", url + "\n", 0644); !s.ok()) return Fail(s.message());
  fs::create_directories("/run/sshd", ec);  // sshd's privilege separation dir
  if (Run({"/usr/sbin/sshd", "-t", "-f", dir + "/sshd_config"}) != 0) return Fail("sshd -t refused " + dir + "/sshd_config");
  copy.dir.clear();
  std::cout << "gitrecv: ready in " << dir << "; start it with: " << self << " run --dir " << dir << "\n"
            << "gitrecv: apps' git URLs: " << url << "/TENANT/ENV/APP.git\n";
  return 0;
}

namespace {
volatile sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }
}  // namespace

int RunSshd(const std::string& dir) {
  std::error_code ec;
  fs::create_directories("/run/sshd", ec);
  auto cfg = LoadGitrecvConfig(dir + "/gitrecv.json");
  if (!cfg.ok()) {
    std::cerr << "gitrecv run: " << cfg.status().message() << "\n";
    return 1;
  }
  const std::string conf = dir + "/sshd_config", log = dir + "/sshd.log";
  if (cfg->runner_socket.empty()) {
    execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", conf.c_str(), "-E", log.c_str(), nullptr);
    std::cerr << "gitrecv run: cannot exec /usr/sbin/sshd: " << strerror(errno) << "\n";
    return 1;
  }
  // sshd as a child; this process serves the deploy runner and ends both on
  // SIGTERM/SIGINT, or when sshd ends.
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  const pid_t self = getpid();
  pid_t sshd = fork();
  if (sshd == 0) {
    // A gitrecv run killed with -9 takes sshd with it, so a restart can bind
    // the port again (sessions already running finish on their own).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != self) _exit(1);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", conf.c_str(), "-E", log.c_str(), nullptr);
    _exit(127);
  }
  if (sshd < 0) return 1;
  int sshd_status = 0;
  bool sshd_done = false;
  Status s = ServeDeploys(
      *cfg, [&] { return g_stop != 0 || sshd_done; },
      [&] {
        if (waitpid(sshd, &sshd_status, WNOHANG) == sshd) sshd_done = true;
      });
  if (!sshd_done) {
    kill(sshd, SIGTERM);
    waitpid(sshd, &sshd_status, 0);
  }
  if (!s.ok()) {
    std::cerr << "gitrecv run: " << s.message() << "\n";
    return 1;
  }
  return sshd_done ? 1 : 0;
}

}  // namespace rv::gitrecv
