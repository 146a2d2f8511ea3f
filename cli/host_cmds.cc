#include "cli/host_cmds.h"

#include <iostream>

#include "cli/output.h"
#include "cli/table.h"
#include "common/resources.h"
#include "common/transport/curve.h"

namespace rv::cli {

void AddHostCommands(CLI::App& app, HostCommands* cmds) {
  cmds->hosts = app.add_subcommand("hosts", "list hosts; enroll or drain one");
  cmds->enroll = cmds->hosts->add_subcommand("enroll", "allow a host's key to join the pod");
  cmds->enroll->add_option("ID", cmds->id, "host id")->required();
  cmds->enroll->add_option("--key", cmds->key, "the host's public key file (.pub or key file)")->required();
  cmds->enroll->add_option("--label", cmds->labels, "label k=v (repeatable)");
  cmds->enroll->add_option("--max-ram-mb", cmds->max_ram_mb, "ceiling on the RAM the host may claim");
  cmds->drain = cmds->hosts->add_subcommand("drain", "give a host nothing new");
  cmds->drain->add_option("ID", cmds->id, "host id")->required();
  cmds->drain->add_flag("--undo", cmds->undo, "make it schedulable again");
}

int RunHostCommands(Client& c, const HostCommands& cmds) {
  if (cmds.enroll->parsed()) {
    auto key = transport::LoadPublicKey(cmds.key);
    if (!key.ok()) return Fail(key.status());
    auto labels = ParsePairs(cmds.labels, "label");
    if (!labels.ok()) return Fail(labels.status());
    msg::EnrollHost req;
    req.host_id = cmds.id;
    req.public_key = *key;
    req.labels = *labels;
    req.max_capacity.ram_mb = cmds.max_ram_mb;
    if (Status s = c.Call(req); !s.ok()) return Fail(s);
    std::cout << "enrolled " << cmds.id << " (key " << transport::KeyFingerprint(*key) << ")\n";
    return 0;
  }
  if (cmds.drain->parsed()) {
    if (Status s = c.Call(msg::DrainHost{cmds.id, !cmds.undo}); !s.ok()) return Fail(s);
    std::cout << (cmds.undo ? "undrained " : "drained ") << cmds.id << "\n";
    return 0;
  }
  if (cmds.hosts->parsed()) {
    auto l = c.List("hosts");
    if (!l.ok()) return Fail(l.status());
    Table t({"HOST", "STATE", "ADDRESS", "LABELS", "CAPACITY", "FREE", "DRAINED", "LAST SEEN"});
    for (const auto& h : l->hosts) {
      t.Add({h.id, h.state, Or(h.address), FormatLabels(h.labels), DescribeShort(h.capacity), DescribeShort(h.free),
             h.drained ? "yes" : "no", Ago(h.last_seen_ms)});
    }
    t.Print(std::cout);
    return 0;
  }
  return -1;
}

}  // namespace rv::cli
