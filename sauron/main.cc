// sauron: the pod's registry and source of truth.
//   sauron --pod pod.json [--log-level info]
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/config.h"
#include "common/log.h"
#include "common/stop_signal.h"
#include "sauron/daemon.h"

int main(int argc, char** argv) {
  CLI::App app{"sauron: Rivendell's registry, change stream and host liveness"};
  std::string pod = "pod.json";
  std::string level = "info";
  app.add_option("--pod", pod, "pod config (JSON); a missing file means all defaults in its directory");
  app.add_option("--log-level", level, "trace, debug, info, warn, error, off")->default_val("info");
  rv::sauron::OverlayOptions overlay;
  bool no_overlay = false;
  app.add_flag("--no-overlay", no_overlay, "no overlay network (no addresses, no env keys)");
  app.add_option("--overlay-cidr", overlay.pod_cidr, "the pod's overlay range, cut into one /24 per environment");
  app.add_option("--overlay-port", overlay.port, "overlayd's UDP port on every host");
  app.add_option("--overlay-quarantine-ms", overlay.quarantine_ms, "a released overlay address is not reused before this");
  overlay.linger_ms = 3000;
  app.add_option("--overlay-linger-ms", overlay.linger_ms,
                 "a stopped job keeps its overlay address and route this long (its host drains it first)");
  app.add_option("--overlay-switch-ms", overlay.switch_after_ms, "key rotation: delivery -> senders switch");
  app.add_option("--overlay-key-grace-ms", overlay.key_grace_ms, "key rotation: switch -> old epoch dropped");
  app.add_option("--overlay-gateway-ports", overlay.gateway_ports,
                 "what containers may reach on their gateway 169.254.1.1 (tcp/N, udp/N; comma separated); "
                 "default none (ICMP echo only)")
      ->delimiter(',');
  rv::sauron::DomainOptions domains;
  app.add_option("--pod-domain", domains.pod_domain,
                 "apps answer at APP.ENV.TENANT.<pod domain> (docs/PROXY.md)")
      ->default_val("rivendell.test");
  app.add_option("--pod-ca", domains.pod_ca,
                 "the pod CA as PREFIX (PREFIX.key, PREFIX.crt; scripts/pod-ca): issues every app name's certificate");
  int agent_grace_ms = -1;
  app.add_option("--agent-grace-ms", agent_grace_ms,
                 "a host whose agent's connection closed keeps its jobs this long for the agent to come back "
                 "(default: the pod config's sauron.disconnect_grace_ms, 2000)")
      ->check(CLI::Range(0, 3600000));
  CLI11_PARSE(app, argc, argv);
  overlay.enabled = !no_overlay;
  rv::InitLogging("sauron", level);

  rv::Result<rv::PodConfig> cfg = rv::LoadPodConfig(pod);
  if (!cfg.ok()) {
    if (cfg.status().code() != rv::Status::Code::kNotFound) {
      spdlog::critical("{}", cfg.status().message());
      return 2;
    }
    std::string dir = std::filesystem::absolute(pod).parent_path().string();
    if (!std::filesystem::is_directory(dir)) {
      spdlog::critical("{} not found, and its directory {} does not exist", pod, dir);
      return 2;
    }
    spdlog::warn("{} not found: running with defaults in {}", pod, dir);
    cfg = rv::ParsePodConfig("{}", dir);
  }

  if (agent_grace_ms >= 0) cfg->sauron.disconnect_grace_ms = agent_grace_ms;

  rv::stop_signal::Install();

  auto daemon = rv::sauron::Daemon::Create(*cfg, pod, overlay, domains);
  if (!daemon.ok()) {
    spdlog::critical("cannot start: {}", daemon.status().message());
    return 1;
  }
  (*daemon)->Run(rv::stop_signal::Flag());
  return 0;
}
