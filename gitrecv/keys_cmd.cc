// gitrecv keys: sshd's AuthorizedKeysCommand. Prints the authorized_keys line
// of an enrolled key (forcing `gitrecv shell USER`), nothing for any other.
#include <iostream>

#include "common/names.h"
#include "common/ssh_key.h"
#include "gitrecv/commands.h"
#include "gitrecv/sauron_link.h"

namespace rv::gitrecv {

std::string AuthorizedKeyLine(const GitrecvConfig& cfg, const std::string& user, const std::string& type,
                              const std::string& blob) {
  // `restrict` turns off forwarding, pty, agent, X11 and ~/.ssh/rc.
  return "restrict,command=\"" + cfg.binary + " --config " + cfg.path + " shell " + user + "\" " + type + " " + blob;
}

int RunKeys(const GitrecvConfig& cfg, const std::string& login, const std::string& type, const std::string& blob) {
  if (login != cfg.user) return 0;  // only the git user logs in with these keys
  auto key = SshPublicKey::FromParts(type, blob);
  if (!key.ok()) {
    std::cerr << "gitrecv keys: " << key.status().message() << "\n";
    return 0;
  }
  auto link = SauronLink::Open(cfg);
  if (!link.ok()) {
    std::cerr << "gitrecv keys: " << link.status().message() << "\n";
    return 1;
  }
  auto owner = (*link)->LookupKey(type, blob);
  if (!owner.ok()) {
    std::cerr << "gitrecv keys: " << key->fingerprint << ": " << owner.status().message() << "\n";
    return owner.status().code() == Status::Code::kNotFound ? 0 : 1;
  }
  if (!names::ValidateName(owner->user, "user").ok()) return 1;  // never quote a hostile name into a command
  std::cout << AuthorizedKeyLine(cfg, owner->user, type, blob) << "\n";
  return 0;
}

}  // namespace rv::gitrecv
