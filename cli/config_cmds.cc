#include "cli/config_cmds.h"

#include <iostream>

#include "cli/output.h"
#include "cli/release_cmds.h"
#include "cli/table.h"
#include "common/crypto/sealed_box.h"
#include "common/msg/env_config.h"

namespace rv::cli {

void AddConfigCommands(CLI::App& app, ConfigCommands* cmds) {
  cmds->list = app.add_subcommand("config", "list an environment's config vars (secrets masked)");
  cmds->list->add_option("ENV", cmds->env, "environment")->required();
  cmds->set = app.add_subcommand("config-set", "(or config:set) set config vars of an environment");
  cmds->set->add_option("ENV", cmds->env, "environment")->required();
  cmds->set->add_option("KEY=VALUE", cmds->pairs, "vars to set")->required();
  cmds->set->add_flag("--secret", cmds->secret, "never show the values again; masked in `rv config`");
  cmds->unset = app.add_subcommand("config-unset", "(or config:unset) remove config vars of an environment");
  cmds->unset->add_option("ENV", cmds->env, "environment")->required();
  cmds->unset->add_option("KEY", cmds->names, "names to remove")->required();
}

int RunConfigCommands(Client& c, ConfigCommands& cmds) {
  if (cmds.set->parsed()) {
    auto vars = ParsePairs(cmds.pairs, "config var");
    for (auto& p : cmds.pairs) crypto::Wipe(p);
    if (!vars.ok()) return Fail(vars.status());
    msg::ConfigSet req{cmds.env, std::move(*vars), cmds.secret};
    Status s = c.Call(req);
    for (auto& [k, v] : req.vars) crypto::Wipe(v);
    if (!s.ok()) return Fail(s);
    std::string names;
    for (const auto& [k, v] : req.vars) names += (names.empty() ? "" : ", ") + k;
    std::cout << "set " << names << " on " << cmds.env << (cmds.secret ? " (secret)" : "")
              << "; new values reach containers when they next start\n";
    // Apps of the environment with a release get a new one (sauron made it): roll them out.
    return RollOutConfigReleases(c, cmds.env);
  }
  if (cmds.unset->parsed()) {
    if (Status s = c.Call(msg::ConfigUnset{cmds.env, cmds.names}); !s.ok()) return Fail(s);
    for (const auto& n : cmds.names) std::cout << "unset " << n << " on " << cmds.env << "\n";
    return RollOutConfigReleases(c, cmds.env);
  }
  if (cmds.list->parsed()) {
    msg::ConfigListing l;
    if (Status s = c.Call(msg::ConfigListRequest{cmds.env}, &l); !s.ok()) return Fail(s);
    if (l.vars.empty()) {
      std::cout << cmds.env << " has no config vars\n";
      return 0;
    }
    Table t({"NAME", "VALUE", "SET"});
    for (const auto& v : l.vars) t.Add({v.name, v.secret ? "******** (secret)" : v.value, ClockTime(v.updated_ms)});
    t.Print(std::cout);
    return 0;
  }
  return -1;
}

}  // namespace rv::cli
