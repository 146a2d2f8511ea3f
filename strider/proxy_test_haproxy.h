// Test helpers (not in any library): running Debian's HAProxy on a rendered
// environment-proxy configuration, as proxy_config_test and
// proxy_body_limit_test do. Files go under a directory the test owns and
// removes.
#pragma once

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/loopback.h"
#include "strider/proxy_config.h"

namespace rv::strider::proxytest {

// A throwaway self-signed P-256 certificate for CN=cn and its key in one PEM
// file (dir/file), as HAProxy's crt-list takes them; "" if openssl failed.
inline std::string SelfSignedPem(const std::filesystem::path& dir, const std::string& cn = "invalid",
                                 const std::string& file = "fallback.pem") {
  std::string pem = (dir / file).string();
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + cn +
                    " -days 1 -keyout " + pem + ".key -out " + pem + " 2>/dev/null && cat " + pem + ".key >> " + pem +
                    " && rm -f " + pem + ".key";
  return system(cmd.c_str()) == 0 ? pem : "";
}

// What a test that runs HAProxy and curl lacks ("" if nothing).
inline std::string MissingTools() {
  std::string missing;
  for (const char* t : {"/usr/sbin/haproxy", "/usr/bin/curl", "/usr/bin/openssl"})
    if (access(t, X_OK) != 0) missing += std::string(missing.empty() ? "" : ", ") + t;
  return missing;
}

// A test's scratch directory, /tmp/rv-NAME-PID, with a fallback certificate
// in it (pem(): "" if openssl failed); removed with everything in it when
// this goes. Declare it before a Haproxy that uses it.
class Scratch {
 public:
  explicit Scratch(const std::string& name)
      : dir_(std::filesystem::temp_directory_path() / ("rv-" + name + "-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(dir_);
    pem_ = SelfSignedPem(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const std::filesystem::path& dir() const { return dir_; }
  const std::string& pem() const { return pem_; }

 private:
  std::filesystem::path dir_;
  std::string pem_;
};

// Gives every site of `in` a copy of `pem` under dir/certs, renders the
// configuration and writes its files into dir, where `in.dir` points.
inline ProxyConfigFiles WriteRendered(const std::filesystem::path& dir, ProxyConfigInput& in, const std::string& pem) {
  std::filesystem::create_directories(dir / "certs");
  in.dir = dir.string();
  in.fallback_pem = pem;
  for (size_t i = 0; i < in.sites.size(); ++i) {
    in.sites[i].pem_file = (dir / "certs" / (std::to_string(i) + ".pem")).string();
    std::filesystem::copy_file(pem, in.sites[i].pem_file, std::filesystem::copy_options::overwrite_existing);
  }
  auto f = RenderProxyConfig(in);
  for (const auto& [name, content] : f.ByName()) std::ofstream(dir / name) << content;
  return f;
}

// A command's standard output, trailing newlines and spaces removed.
inline std::string Output(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Debian's HAProxy on dir/haproxy.cfg, `args` before "-f" (e.g. "-db"),
// its output in dir/haproxy.log; stopped (SIGTERM, then waited for) when
// this goes, so a failed assertion leaves no HAProxy behind.
class Haproxy {
 public:
  Haproxy(const std::filesystem::path& dir, const std::vector<std::string>& args) {
    std::string log = (dir / "haproxy.log").string(), cfg = (dir / "haproxy.cfg").string();
    std::vector<std::string> argv{"haproxy"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("-f");
    argv.push_back(cfg);
    pid_ = fork();
    if (pid_ == 0) {
      if (!freopen(log.c_str(), "w", stdout)) _exit(126);
      dup2(1, 2);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      execv("/usr/sbin/haproxy", a.data());
      _exit(127);
    }
  }
  ~Haproxy() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  Haproxy(const Haproxy&) = delete;
  Haproxy& operator=(const Haproxy&) = delete;
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

using rv::testing::ListenLoopback;

// An app replica on loopback, one request per connection: reads a request's
// head (and a body of the length it gives), answers answer(head) and closes.
// Keeps each request's first line, + " close" when it asked to close.
class LoopbackApp {
 public:
  LoopbackApp(int port, std::function<std::string(const std::string& head)> answer)
      : answer_(std::move(answer)), fd_(ListenLoopback(port)) {
    t_ = std::thread([this] { Loop(); });
  }
  ~LoopbackApp() {
    stop_ = true;
    t_.join();
    if (fd_ >= 0) close(fd_);
  }
  LoopbackApp(const LoopbackApp&) = delete;
  LoopbackApp& operator=(const LoopbackApp&) = delete;
  bool ok() const { return fd_ >= 0; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

  // "200 OK" with `body`, as a plain app answers.
  static std::string Ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }

 private:
  void Loop() {
    while (!stop_ && fd_ >= 0) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string in;
      char buf[4096];
      size_t head = std::string::npos;
      while (true) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 2000) <= 0) break;
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        if (head == std::string::npos) head = in.find("\r\n\r\n");
        if (head == std::string::npos) continue;
        size_t cl = in.find("ontent-length: ");
        size_t want = cl == std::string::npos || cl > head ? 0 : std::stoul(in.substr(cl + 15));
        if (in.size() - head - 4 >= want) break;
      }
      std::string h = in.substr(0, head);
      std::string lower = h + "\r\n";
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      {
        std::lock_guard<std::mutex> l(mu_);
        requests_.push_back(h.substr(0, h.find("\r\n")) +
                            (lower.find("\r\nconnection: close\r\n") != std::string::npos ? " close" : ""));
      }
      std::string r = answer_(h);
      (void)!write(c, r.data(), r.size());
      close(c);
    }
  }
  std::function<std::string(const std::string&)> answer_;
  int fd_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread t_;
};

}  // namespace rv::strider::proxytest
