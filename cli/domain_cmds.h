// Operator commands for apps' names and certificates (docs/PROXY.md), kept
// out of rv.cc:
//   rv domains:add TENANT/ENV/APP NAME       a custom domain (one app per name, pod-wide);
//                                            sauron issues its certificate from the pod CA
//   rv domains:remove TENANT/ENV/APP NAME    (the default name goes only with the app)
//   rv domains TENANT/ENV/APP                its names: default/custom, certificate issuer, expiry
//   rv certs:add NAME --cert F --key F       install the operator's own certificate (PEM; leaf
//                                            first, then its chain) for a name an app has
//   rv certs                                 every name with its certificate
//   rv certs:renew [--force]                 reissue pod-CA certificates due (within 30 days
//                                            of expiry), or all of them with --force
// The key file is read here and sent only over the CURVE-encrypted admin
// connection; rv never prints it. Registered with '-' for ':'.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/client.h"
#include "common/msg/proxy.h"

namespace rv::cli {

struct DomainCommands {
  CLI::App *add = nullptr, *remove = nullptr, *list = nullptr, *cert_add = nullptr, *certs = nullptr,
           *renew = nullptr;
  std::string app, name, cert_file, key_file;
  bool force = false;
};

// The table of rv domains / rv certs (pure, for tests): NAME, APP, KIND
// (default/custom), CERT (pod-CA/custom/none), NOT AFTER, EXPIRES IN.
std::string FormatDomains(const msg::DomainListing& l, int64_t now_ms, bool with_app);

void AddDomainCommands(CLI::App& app, DomainCommands* cmds);
// Runs the parsed command; -1 if none of them was given.
int RunDomainCommands(Client& c, const DomainCommands& cmds);

}  // namespace rv::cli
