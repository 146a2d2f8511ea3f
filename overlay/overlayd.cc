// overlayd: the per-host encrypted overlay daemon (see docs/OVERLAY.md).
//
//   overlayd run --config control.json [--host-key keys/host.key] [--socket PATH] [--lease-ms MS]
//   overlayd stats --socket PATH            (also: overlayd --stats --socket PATH)
//   overlayd keygen --out FILE              host X25519/CURVE key pair
//   overlayd newkey                         32 random bytes, hex (tests, benches)
//   overlayd seal --env N --epoch E --aead A --key HEX --to PUBFILE
//
// In `run` mode the control file is polled every 50 ms and re-applied when it
// changes (write it atomically: temp file + rename); the socket accepts
// "stats", "apply" and "keepalive". Bad documents are refused and counted;
// the datapath keeps running on the last good state. State applied over the
// socket is leased (overlay/lease.h): without an apply or keepalive for
// --lease-ms (default 5000; 0 = off) every env's keys and routes are wiped.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "common/stop_signal.h"
#include "common/transport/keys.h"
#include "overlay/control.h"
#include "overlay/control_socket.h"
#include "overlay/device.h"
#include "overlay/keyring.h"
#include "overlay/lease.h"

using namespace rv::overlay;

namespace {

int Run(const std::string& config, const std::string& host_key, const std::string& sock_path,
        const Device::Options& options, int64_t lease_ms) {
  std::optional<HostKeyPair> hk;
  if (!host_key.empty()) {
    auto k = LoadHostKeyPair(host_key);
    if (!k.ok()) {
      spdlog::error("host key: {}", k.status().ToString());
      return 1;
    }
    hk = *k;
  }
  Device dev(options);
  std::mutex apply_mu;
  Lease lease(lease_ms);  // guarded by apply_mu
  auto apply_text = [&](const std::string& text, bool leased) -> rv::Status {
    std::lock_guard<std::mutex> l(apply_mu);
    auto c = ParseControl(text, hk ? &*hk : nullptr);
    if (!c.ok()) {
      dev.metrics().Add(Metric::kControlRejected);
      return c.status();
    }
    rv::Status s = dev.Apply(*c);
    WipeKeys(&*c);
    // A partly failed apply (one attachment) still installed the keys: lease them.
    if (leased) lease.Applied(rv::MonotonicMs());
    return s;
  };
  std::unique_ptr<ControlSocket> cs;
  if (!sock_path.empty()) {
    auto s = ControlSocket::Listen(sock_path, [&](const std::string& cmd, const std::string& body) {
      if (cmd == "stats") return dev.StatsJson();
      if (cmd == "keepalive") {
        bool held;
        {
          std::lock_guard<std::mutex> l(apply_mu);
          held = lease.Keepalive(rv::MonotonicMs());
        }
        nlohmann::json j;
        j["ok"] = true;
        j["held"] = held;  // false: nothing applied, or wiped; apply again
        return j.dump();
      }
      if (cmd == "apply") {
        rv::Status st = apply_text(body, true);
        nlohmann::json j;
        j["ok"] = st.ok();
        if (!st.ok()) j["error"] = st.ToString();
        return j.dump();
      }
      return std::string(R"({"ok":false,"error":"unknown command"})");
    });
    if (!s.ok()) {
      spdlog::error("control socket: {}", s.status().ToString());
      return 1;
    }
    cs = std::move(*s);
  }
  rv::stop_signal::Install();
  struct stat last{};
  bool applied_once = false;
  while (!rv::stop_signal::Requested()) {
    if (!config.empty()) {
      struct stat st{};
      if (stat(config.c_str(), &st) == 0 &&
          (st.st_mtim.tv_sec != last.st_mtim.tv_sec || st.st_mtim.tv_nsec != last.st_mtim.tv_nsec ||
           st.st_ino != last.st_ino || st.st_size != last.st_size)) {
        last = st;
        auto text = ReadFileText(config);
        rv::Status s = text.ok() ? apply_text(*text, false) : text.status();
        if (s.ok()) {
          spdlog::info("applied {}", config);
          applied_once = true;
        } else {
          spdlog::error("control file {} refused: {}", config, s.ToString());
          if (!applied_once) spdlog::warn("datapath not running until a valid document arrives");
        }
      }
    }
    {
      std::lock_guard<std::mutex> l(apply_mu);
      if (lease.Expire(rv::MonotonicMs())) {
        // The driver (strider) is presumed dead: no host keeps decrypting its
        // environments' traffic without one.
        dev.metrics().Add(Metric::kLeaseExpired);
        spdlog::warn("no apply or keepalive on the control socket for {} ms: wiping every environment's keys "
                     "and routes until the strider applies again", lease.lease_ms());
        if (rv::Status ws = dev.Wipe(); !ws.ok()) spdlog::error("wipe: {}", ws.ToString());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  spdlog::info("stopping");
  cs.reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"overlayd: per-environment encrypted overlay"};
  std::string config, host_key, sock, level = "info", out, to, key_hex, aead = "aes256gcm";
  bool stats_flag = false, no_offload = false, no_gso = false;
  double realtime_max_busy = 0.5;
  uint32_t env = 0, epoch = 0;
  int max_segments = 0;
  int lanes = 0;
  int64_t lease_ms = 5000;
  app.add_option("--log-level", level);
  app.add_flag("--stats", stats_flag, "print counters of the overlayd at --socket");
  app.add_option("--socket", sock, "control socket path");
  auto* run = app.add_subcommand("run", "run the daemon");
  run->add_option("--config", config, "control document (JSON)")->required();
  run->add_option("--host-key", host_key, "host CURVE key file, opens sealed env keys");
  run->add_option("--socket", sock, "control socket path");
  run->add_flag("--no-offload", no_offload, "disable TUN TSO/checksum offloads");
  run->add_flag("--no-udp-gso", no_gso, "disable UDP_SEGMENT");
  run->add_option("--max-segments", max_segments,
                  "seal TCP superpackets in units of N segments (loss containment; 0 = whole)")
      ->check(CLI::Range(0, 64));
  run->add_option("--lanes", lanes,
                  "datapath threads, each pinned to one CPU with packets steered to the lane on their CPU "
                  "(0 = one per CPU this process may use, up to 16; 1 = one unpinned thread)")
      ->check(CLI::Range(0, Device::kMaxLanes));
  run->add_option("--realtime-max-busy", realtime_max_busy,
                  "a lane runs SCHED_FIFO (a packet does not wait for its CPU's other work) while it is "
                  "busy at most this fraction of 100 ms, SCHED_OTHER above it until under 0.4 times it; "
                  "0 = always SCHED_OTHER")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--lease-ms", lease_ms,
                  "wipe every env's keys and routes when no apply/keepalive came on the socket for this long "
                  "(the strider died); 0 = never")
      ->check(CLI::Range(int64_t(0), int64_t(86400000)));
  auto* stats = app.add_subcommand("stats", "print counters");
  stats->add_option("--socket", sock)->required();
  auto* keygen = app.add_subcommand("keygen", "write a host key pair");
  keygen->add_option("--out", out)->required();
  app.add_subcommand("newkey", "print a random 32-byte key in hex");
  auto* seal = app.add_subcommand("seal", "seal an env key to a host public key");
  seal->add_option("--env", env)->required();
  seal->add_option("--epoch", epoch)->required();
  seal->add_option("--aead", aead);
  seal->add_option("--key", key_hex)->required();
  seal->add_option("--to", to, "host .pub or key file")->required();
  CLI11_PARSE(app, argc, argv);
  rv::InitLogging("overlayd", level);

  if (stats_flag || stats->parsed()) {
    auto r = ControlRequest(sock, "stats");
    if (!r.ok()) {
      std::cerr << r.status().ToString() << "\n";
      return 1;
    }
    std::cout << *r << "\n";
    return 0;
  }
  if (run->parsed()) {
    Device::Options o;
    o.offload = !no_offload;
    o.udp_gso = !no_gso;
    o.max_segments = max_segments;
    o.lanes = lanes;
    o.realtime_max_busy = realtime_max_busy;
    return Run(config, host_key, sock, o, lease_ms);
  }
  if (keygen->parsed()) {
    auto s = rv::transport::SaveKeypair(out, rv::transport::GenerateKeypair());
    if (!s.ok()) {
      std::cerr << s.ToString() << "\n";
      return 1;
    }
    return 0;
  }
  if (app.got_subcommand("newkey")) {
    std::cout << ToHex(std::string(reinterpret_cast<const char*>(NewEnvKey(0, 0, AeadKind::kAes256Gcm).key.data()), 32))
              << "\n";
    return 0;
  }
  if (seal->parsed()) {
    auto pub = rv::transport::LoadPublicKey(to);
    if (!pub.ok()) { std::cerr << pub.status().ToString() << "\n"; return 1; }
    auto pk = Z85DecodeKey(*pub);
    auto kind = ParseAead(aead);
    auto raw = FromHex(key_hex);
    if (!pk.ok() || !kind.ok() || !raw.ok() || raw->size() != 32) {
      std::cerr << "bad --to, --aead or --key\n";
      return 1;
    }
    EnvKey k;
    k.env_id = env;
    k.epoch = epoch;
    k.aead = *kind;
    memcpy(k.key.data(), raw->data(), 32);
    auto sealed = SealEnvKey(k, *pk);
    if (!sealed.ok()) { std::cerr << sealed.status().ToString() << "\n"; return 1; }
    std::cout << ToHex(*sealed) << "\n";
    return 0;
  }
  std::cerr << app.help();
  return 2;
}
