// sceptre: a host's recovery at boot (docs/SCEPTRE.md).
//
//   sceptre recover --data-dir D [--run-dir R] [--state-dir S] [--host-id H]
//                   [--pod pod.json --key K]   (send the report to sauron's event log)
//   sceptre status  --data-dir D
//
// `recover` runs before the strider (rivendell-sceptre.service is ordered
// before rivendell-strider.service; scripts/pod runs it for namespace hosts):
// it finds the debris of an unclean shutdown and cleans it, checks the image
// store, and writes <data dir>/sceptre/last-boot.json. The strider then does
// the rest from its journal: adopts what still runs, starts again what sauron
// still places here (data services first, in parallel), fences what sauron
// moved elsewhere, and appends its part to <data dir>/sceptre/strider-restore.json.
// `status` prints both.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/msg/protocol.h"
#include "common/transport/curve.h"
#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"
#include "sceptre/host_scan.h"
#include "strider/container/container_runtime.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Summary(const json& r) {
  std::ostringstream s;
  s << "sceptre: " << r["found"]["dead_containers"].get<int>() << " dead containers cleaned ("
    << r["cleaned"].size() << " actions, " << r["failed"].get<int>() << " failed), "
    << r["found"]["left_running"].size() << " left running for the strider, "
    << r["found"]["image_tmp"].get<int>() << " half-pulled/unpacked, " << r["found"]["corrupt_blobs"].get<int>()
    << " corrupt blobs, " << r["found"]["orphan_layers"].get<int>() << " layers without blob, journal "
    << r["journal"]["entries"].get<int>() << " entries (" << r["journal"]["corrupt"].size() << " corrupt set aside)"
    << (r["run_dir_present"].get<bool>() ? "" : ", after a reboot");
  return s.str();
}

void SendToSauron(const std::string& pod_path, const std::string& host_id, const std::string& key_path, json* report) {
  auto cfg = rv::LoadPodConfig(pod_path);
  if (!cfg.ok()) {
    (*report)["sent_to_sauron"] = "no: " + cfg.status().message();
    return;
  }
  auto key = rv::transport::LoadKeypair(key_path.empty() ? cfg->KeyPath(host_id) : key_path);
  auto skey = rv::transport::LoadPublicKey(cfg->KeyPath("sauron") + ".pub");
  if (!skey.ok()) skey = rv::transport::LoadPublicKey(cfg->KeyPath("sauron"));
  if (!cfg->sauron.public_key.empty()) skey = cfg->sauron.public_key;
  if (!key.ok() || !skey.ok()) {
    (*report)["sent_to_sauron"] = "no: cannot load keys";
    return;
  }
  zmq::context_t ctx(1);
  rv::transport::RpcClient c(ctx, cfg->sauron.api, *key, *skey);
  rv::msg::HostRecovery m{host_id, Summary(*report)};
  rv::Status s = c.Call(m, std::chrono::milliseconds(2000));
  (*report)["sent_to_sauron"] = s.ok() ? std::string("yes") : "no: " + s.message();
}

int Recover(const std::string& data_dir, std::string state_dir, std::string run_dir, const std::string& host_id,
            const std::string& pod, const std::string& key) {
  auto t0 = std::chrono::steady_clock::now();
  rv::sceptre::HostPaths p;
  p.data_dir = data_dir;
  p.state_dir = state_dir.empty() ? data_dir + "/container" : state_dir;
  std::string tag = rv::container::RuntimeTag(host_id.empty() ? "host" : host_id, data_dir);
  p.run_dir = run_dir.empty() ? "/run/rivendell/" + tag : run_dir;
  p.cgroup_parent = "/rivendell/" + tag;
  rv::sceptre::HostScan scan(p);
  rv::sceptre::Observed o = scan.Observe();
  rv::sceptre::Plan plan = rv::sceptre::DecideRecovery(o);
  auto done = scan.Apply(plan);
  json r;
  r["started_unix_ms"] = WallMs();
  r["host_id"] = host_id;
  r["run_dir_present"] = o.run_dir_present;
  r["found"] = {{"containers", o.containers.size()},
                {"dead_containers", plan.dead_containers},
                {"left_running", plan.left_running},
                {"image_tmp", o.image_tmp.size()},
                {"journal_tmp", o.journal_tmp.size()},
                {"corrupt_blobs", o.corrupt_blobs.size()},
                {"orphan_layers", o.orphan_layers.size()},
                {"stale_locks", o.stale_locks.size()}};
  r["journal"] = {{"entries", o.journal_entries}, {"jobs", scan.journal_jobs()}, {"corrupt", scan.journal_corrupt()}};
  json cleaned = json::array();
  int failed = 0;
  for (const auto& d : done) {
    json a = {{"action", rv::sceptre::ActionName(d.action.kind)}, {"target", d.action.target}, {"why", d.action.why}};
    if (!d.ok) {
      a["error"] = d.error;
      ++failed;
    }
    cleaned.push_back(std::move(a));
  }
  r["cleaned"] = cleaned;
  r["failed"] = failed;
  r["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!pod.empty() && !host_id.empty()) SendToSauron(pod, host_id, key, &r);
  std::error_code ec;
  fs::create_directories(data_dir + "/sceptre", ec);
  std::string path = data_dir + "/sceptre/last-boot.json";
  {
    std::ofstream f(path + ".tmp");
    f << r.dump(2) << "\n";
  }
  fs::rename(path + ".tmp", path, ec);
  fs::remove(data_dir + "/sceptre/strider-restore.json", ec);  // the strider writes this boot's
  std::printf("%s\n", Summary(r).c_str());
  for (const auto& a : cleaned) {
    std::printf("  %s %s (%s)%s\n", a["action"].get<std::string>().c_str(), a["target"].get<std::string>().c_str(),
                a["why"].get<std::string>().c_str(), a.contains("error") ? (" FAILED: " + a["error"].get<std::string>()).c_str() : "");
  }
  return failed == 0 ? 0 : 1;
}

int Status(const std::string& data_dir, bool as_json) {
  auto read = [](const std::string& p) -> json {
    std::ifstream f(p);
    if (!f) return nullptr;
    json j = json::parse(f, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
  };
  json boot = read(data_dir + "/sceptre/last-boot.json");
  json restore = read(data_dir + "/sceptre/strider-restore.json");
  if (as_json) {
    std::printf("%s\n", json{{"recover", boot}, {"strider", restore}}.dump(2).c_str());
    return boot.is_null() ? 1 : 0;
  }
  if (boot.is_null()) {
    std::printf("no recovery report in %s/sceptre (sceptre recover has not run)\n", data_dir.c_str());
    return 1;
  }
  std::printf("%s\n  took %.3f s; sent to sauron: %s\n", Summary(boot).c_str(), boot.value("seconds", 0.0),
              boot.value("sent_to_sauron", std::string("not asked")).c_str());
  if (restore.is_null()) {
    std::printf("strider: no restore report yet\n");
  } else {
    std::printf("strider: adopted %d running, restarted %d (placed here), fenced %d (moved elsewhere), started %d "
                "offline, %d corrupt journal entries; adoption took %lld ms\n",
                restore.value("adopted", 0), restore.value("restarted", 0), restore.value("fenced", 0),
                restore.value("offline", 0), restore.value("corrupt", 0),
                static_cast<long long>(restore.value("adopt_ms", 0)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sceptre: bring a host's containers back after a crash or reboot"};
  app.require_subcommand(1);
  std::string data_dir, state_dir, run_dir, host_id, pod, key;
  bool as_json = false;
  auto* rec = app.add_subcommand("recover", "clean an unclean shutdown's debris and check the image store (at boot)");
  rec->add_option("--data-dir", data_dir, "the strider's data dir")->required();
  rec->add_option("--state-dir", state_dir, "the strider's container state dir (default <data-dir>/container)");
  rec->add_option("--run-dir", run_dir, "the strider's run dir (default /run/rivendell/<host-id>-<hash>)");
  rec->add_option("--host-id", host_id, "this host's id (names its run dir and cgroups; needed to report to sauron)");
  rec->add_option("--pod", pod, "pod config: send the report to sauron's event log (host.recovered)");
  rec->add_option("--key", key, "this host's key (default <pod_dir>/keys/<host-id>.key)");
  auto* st = app.add_subcommand("status", "what the last boot's recovery found, cleaned, restarted and fenced");
  st->add_option("--data-dir", data_dir, "the strider's data dir")->required();
  st->add_flag("--json", as_json, "machine-readable");
  CLI11_PARSE(app, argc, argv);
  if (rec->parsed()) return Recover(data_dir, state_dir, run_dir, host_id, pod, key);
  return Status(data_dir, as_json);
}
