#include "cli/env_cmds.h"

#include <iostream>

#include "cli/table.h"
#include "common/msg/overlay.h"

namespace rv::cli {

void AddEnvCommands(CLI::App& app, EnvCommands* cmds) {
  cmds->rotate = app.add_subcommand("env-rotate-key", "move every host of an environment to a new overlay key");
  cmds->rotate->add_option("ENV", cmds->env, "environment")->required();
  cmds->addrs = app.add_subcommand("env-addrs", "overlay subnets, epochs and container addresses");
  cmds->addrs->add_option("ENV", cmds->env, "only this environment");
}

int RunEnvCommands(Client& c, const EnvCommands& cmds) {
  if (cmds.rotate->parsed()) {
    msg::RotateKeyResult r;
    if (Status s = c.Call(msg::RotateKey{cmds.env}, &r); !s.ok()) {
      std::cerr << "rv: " << s.message() << "\n";
      return 1;
    }
    std::cout << "env " << cmds.env << ": epoch " << r.new_epoch << " delivered; senders switch from epoch "
              << r.old_epoch << " at " << r.switch_at_ms << " ms; epoch " << r.old_epoch << " dropped at "
              << r.forget_old_at_ms << " ms\n";
    return 0;
  }
  if (cmds.addrs->parsed()) {
    msg::OverlayListing l;
    if (Status s = c.Call(msg::OverlayListRequest{cmds.env}, &l); !s.ok()) {
      std::cerr << "rv: " << s.message() << "\n";
      return 1;
    }
    Table t({"ENV", "SUBNET", "AEAD", "EPOCHS", "ADDRESS", "JOB", "ATTEMPT", "HOST"});
    for (const auto& e : l.envs) {
      std::string epochs;
      for (const auto& k : e.keys)
        epochs += (epochs.empty() ? "" : ",") + std::to_string(k.epoch) + (k.epoch == e.send_epoch ? "*" : "");
      if (e.routes.empty()) t.Add({e.env, e.subnet, e.aead, epochs, "-", "-", "-", "-"});
      for (const auto& r : e.routes)
        t.Add({e.env, e.subnet, e.aead, epochs, r.addr, r.job_id, std::to_string(r.attempt), r.host_id});
    }
    t.Print(std::cout);
    return 0;
  }
  return -1;
}

}  // namespace rv::cli
