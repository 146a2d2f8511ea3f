#include "cli/env_cmds.h"

#include <iostream>
#include <sstream>

#include "cli/table.h"
#include "common/msg/overlay.h"

namespace rv::cli {

void AddEnvCommands(CLI::App& app, EnvCommands* cmds) {
  cmds->rotate = app.add_subcommand("env-rotate-key", "move every host of an environment to a new overlay key");
  cmds->rotate->add_option("ENV", cmds->env, "environment")->required();
  cmds->rotate->add_option("--aead", cmds->aead, "force the new epoch's AEAD (default: chosen from the hosts up)")
      ->check(CLI::IsMember({"aes256gcm", "chacha20poly1305"}));
  cmds->addrs = app.add_subcommand("env-addrs", "overlay subnets, epochs and container addresses");
  cmds->addrs->add_option("ENV", cmds->env, "only this environment");
}

std::string FormatAddrs(const msg::OverlayListing& l) {
  // AEAD: the send epoch's; while a rotation switches algorithm the other
  // epoch's is shown too, e.g. "aes256gcm (2: chacha20poly1305)".
  Table t({"ENV", "SUBNET", "AEAD", "EPOCHS", "ADDRESS", "JOB", "ATTEMPT", "HOST"});
  for (const auto& e : l.envs) {
    std::string epochs, others;
    for (const auto& k : e.keys) {
      epochs += (epochs.empty() ? "" : ",") + std::to_string(k.epoch) + (k.epoch == e.send_epoch ? "*" : "");
      if (k.epoch != e.send_epoch && !k.aead.empty() && k.aead != e.aead)
        others += (others.empty() ? "" : ", ") + std::to_string(k.epoch) + ": " + k.aead;
    }
    std::string aead = e.aead + (others.empty() ? "" : " (" + others + ")");
    if (e.routes.empty()) t.Add({e.env, e.subnet, aead, epochs, "-", "-", "-", "-"});
    for (const auto& r : e.routes)
      t.Add({e.env, e.subnet, aead, epochs, r.addr, r.job_id, std::to_string(r.attempt), r.host_id});
  }
  std::ostringstream out;
  t.Print(out);
  return out.str();
}

int RunEnvCommands(Client& c, const EnvCommands& cmds) {
  if (cmds.rotate->parsed()) {
    msg::RotateKeyResult r;
    if (Status s = c.Call(msg::RotateKey{cmds.env, cmds.aead}, &r); !s.ok()) {
      std::cerr << "rv: " << s.message() << "\n";
      return 1;
    }
    std::cout << "env " << cmds.env << ": epoch " << r.new_epoch << " (" << r.new_aead
              << ") delivered; senders switch from epoch " << r.old_epoch << " (" << r.old_aead << ") at "
              << r.switch_at_ms << " ms; epoch " << r.old_epoch << " dropped at " << r.forget_old_at_ms << " ms\n";
    return 0;
  }
  if (cmds.addrs->parsed()) {
    msg::OverlayListing l;
    if (Status s = c.Call(msg::OverlayListRequest{cmds.env}, &l); !s.ok()) {
      std::cerr << "rv: " << s.message() << "\n";
      return 1;
    }
    std::cout << FormatAddrs(l);
    return 0;
  }
  return -1;
}

}  // namespace rv::cli
