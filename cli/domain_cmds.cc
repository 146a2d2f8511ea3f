#include "cli/domain_cmds.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/output.h"
#include "cli/table.h"
#include "common/clock.h"
#include "common/crypto/sealed_box.h"
#include "common/names.h"

namespace rv::cli {
namespace {

Result<std::string> ReadSmallFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(std::string("cannot read the ") + what + " file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > 64 * 1024) return Status::Invalid(std::string("the ") + what + " file is larger than 64 KiB");
  return ss.str();
}

std::string ExpiresIn(int64_t not_after_ms, int64_t now_ms) {
  if (not_after_ms <= 0) return "-";
  int64_t days = (not_after_ms - now_ms) / 86400000;
  if (not_after_ms <= now_ms) return "EXPIRED";
  return std::to_string(days) + "d";
}

}  // namespace

std::string FormatDomains(const msg::DomainListing& l, int64_t now_ms, bool with_app) {
  std::vector<std::string> head = {"NAME"};
  if (with_app) head.push_back("APP");
  for (const char* h : {"KIND", "CERT", "NOT AFTER", "EXPIRES IN"}) head.push_back(h);
  Table t(head);
  for (const auto& d : l.domains) {
    std::vector<std::string> row = {d.name};
    if (with_app) row.push_back(d.app);
    row.push_back(d.is_default ? "default" : "custom");
    row.push_back(d.issuer.empty() ? "none" : d.issuer);
    row.push_back(d.issuer.empty() ? "-" : DateTime(d.not_after_ms));
    row.push_back(d.issuer.empty() ? "-" : ExpiresIn(d.not_after_ms, now_ms));
    t.Add(std::move(row));
  }
  std::ostringstream out;
  t.Print(out);
  return out.str();
}

void AddDomainCommands(CLI::App& app, DomainCommands* cmds) {
  cmds->add = app.add_subcommand("domains-add", "give an app a custom domain (certificate from the pod CA)");
  cmds->add->add_option("APP", cmds->app, "TENANT/ENV/APP")->required();
  cmds->add->add_option("NAME", cmds->name, "DNS name, e.g. shop.example.com")->required();
  cmds->remove = app.add_subcommand("domains-remove", "take a custom domain from an app");
  cmds->remove->add_option("APP", cmds->app, "TENANT/ENV/APP")->required();
  cmds->remove->add_option("NAME", cmds->name, "DNS name")->required();
  cmds->list = app.add_subcommand("domains", "an app's names and their certificates");
  cmds->list->add_option("APP", cmds->app, "TENANT/ENV/APP")->required();
  cmds->cert_add = app.add_subcommand("certs-add", "install your own certificate for a name");
  cmds->cert_add->add_option("NAME", cmds->name, "DNS name an app has")->required();
  cmds->cert_add->add_option("--cert", cmds->cert_file, "PEM: the certificate, then its chain")->required();
  cmds->cert_add->add_option("--key", cmds->key_file, "PEM: its private key (unencrypted)")->required();
  cmds->certs = app.add_subcommand("certs", "every name with its certificate");
  cmds->renew = app.add_subcommand("certs-renew", "reissue pod-CA certificates due within 30 days");
  cmds->renew->add_flag("--force", cmds->force, "reissue every pod-CA certificate");
}

int RunDomainCommands(Client& c, const DomainCommands& cmds) {
  if (cmds.add->parsed() || cmds.remove->parsed() || cmds.list->parsed()) {
    if (auto a = names::ParseAppRef(cmds.app); !a.ok()) return Fail(a.status());
  }
  if (cmds.add->parsed()) {
    if (Status s = c.Call(msg::DomainAdd{cmds.app, cmds.name}); !s.ok()) return Fail(s);
    msg::DomainListing l;
    if (Status s = c.Call(msg::DomainListRequest{cmds.app}, &l); !s.ok()) return Fail(s);
    for (const auto& d : l.domains) {
      if (d.name != cmds.name) continue;
      std::cout << cmds.app << " answers at " << d.name << " (certificate: " << (d.issuer.empty() ? "none" : d.issuer)
                << ")\n";
    }
    return 0;
  }
  if (cmds.remove->parsed()) {
    if (Status s = c.Call(msg::DomainRemove{cmds.app, cmds.name}); !s.ok()) return Fail(s);
    std::cout << cmds.name << " removed from " << cmds.app << "\n";
    return 0;
  }
  if (cmds.list->parsed()) {
    msg::DomainListing l;
    if (Status s = c.Call(msg::DomainListRequest{cmds.app}, &l); !s.ok()) return Fail(s);
    std::cout << FormatDomains(l, WallMs(), false);
    return 0;
  }
  if (cmds.certs->parsed()) {
    msg::DomainListing l;
    if (Status s = c.Call(msg::CertListRequest{}, &l); !s.ok()) return Fail(s);
    std::cout << FormatDomains(l, WallMs(), true);
    return 0;
  }
  if (cmds.cert_add->parsed()) {
    auto cert = ReadSmallFile(cmds.cert_file, "certificate");
    if (!cert.ok()) return Fail(cert.status());
    auto key = ReadSmallFile(cmds.key_file, "key");
    if (!key.ok()) return Fail(key.status());
    msg::CertAdd req{cmds.name, *cert, *key};
    crypto::Wipe(*key);
    msg::DomainInfo info;
    Status s = c.Call(req, &info);
    crypto::Wipe(req.key_pem);
    if (!s.ok()) return Fail(s);
    std::cout << info.name << " (" << info.app << "): your certificate, issued by " << info.subject << ", valid until "
              << DateTime(info.not_after_ms) << "\n";
    return 0;
  }
  if (cmds.renew->parsed()) {
    msg::DomainListing l;
    if (Status s = c.Call(msg::CertsRenew{cmds.force}, &l); !s.ok()) return Fail(s);
    if (l.domains.empty()) {
      std::cout << "no certificate was due\n";
      return 0;
    }
    std::cout << FormatDomains(l, WallMs(), true);
    return 0;
  }
  return -1;
}

}  // namespace rv::cli
