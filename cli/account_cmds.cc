#include "cli/account_cmds.h"

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/output.h"
#include "cli/table.h"
#include "common/names.h"

namespace rv::cli {

std::string GitRemoteUrl(const std::string& base, const msg::AppInfo& app) {
  return base + "/" + app.tenant + "/" + app.env + "/" + app.app + ".git";
}

std::string GitBaseUrl(const std::string& flag, const std::string& pod_dir) {
  if (!flag.empty()) return flag;
  if (const char* e = getenv("RV_GIT_URL"); e && *e) return e;
  std::ifstream in(pod_dir + "/gitrecv/url");
  std::string line;
  if (in && std::getline(in, line)) return line;
  return "";
}

void AddAccountCommands(CLI::App& app, AccountCommands* c) {
  c->users_add = app.add_subcommand("users-add", "(or users:add) add a user who may own SSH keys");
  c->users_add->add_option("USER", c->user, "user name")->required();
  c->users = app.add_subcommand("users", "list users, their key counts and access");
  c->keys_add = app.add_subcommand("keys-add", "(or keys:add) enroll a user's SSH public key");
  c->keys_add->add_option("USER", c->user, "user name")->required();
  c->keys_add->add_option("FILE", c->file, "the public key file (id_ed25519.pub...)")->required();
  c->keys_remove = app.add_subcommand("keys-remove", "(or keys:remove) remove one of a user's SSH keys");
  c->keys_remove->add_option("USER", c->user, "user name")->required();
  c->keys_remove->add_option("FINGERPRINT", c->fingerprint, "SHA256:... as `rv keys USER` shows")->required();
  c->keys = app.add_subcommand("keys", "list a user's SSH keys");
  c->keys->add_option("USER", c->user, "user name")->required();
  c->apps_create = app.add_subcommand("apps-create", "(or apps:create) create an app in an environment");
  c->apps_create->add_option("TENANT/ENV", c->env, "environment, e.g. acme/prod")->required();
  c->apps_create->add_option("APP", c->app, "app name, e.g. web")->required();
  c->apps_create->add_option("--branch", c->branch, "the branch that deploys")->check(CLI::IsMember({"main", "master"}));
  c->apps_create->add_option("--git-url", c->git_url, "the git server's base URL (ssh://rvgit@HOST:PORT)");
  c->apps_destroy = app.add_subcommand("apps-destroy", "(or apps:destroy) delete an app's record");
  c->apps_destroy->add_option("TENANT/ENV/APP", c->app, "the app")->required();
  c->apps = app.add_subcommand("apps", "list apps and their git URLs");
  c->apps->add_option("TENANT/ENV", c->env, "only this environment");
  c->apps->add_option("--git-url", c->git_url, "the git server's base URL (ssh://rvgit@HOST:PORT)");
  c->grant = app.add_subcommand("access-grant", "(or access:grant) let a user push to (or read) an environment's apps");
  c->grant->add_option("USER", c->user, "user name")->required();
  c->grant->add_option("TENANT/ENV", c->env, "environment, e.g. acme/prod")->required();
  c->grant->add_flag("--read-only", c->read_only, "clone and fetch only, no push");
  c->revoke = app.add_subcommand("access-revoke", "(or access:revoke) take a user's access to an environment away");
  c->revoke->add_option("USER", c->user, "user name")->required();
  c->revoke->add_option("TENANT/ENV", c->env, "environment")->required();
}

int RunAccountCommands(Client& c, const AccountCommands& cmds) {
  auto check_user = [&]() { return names::ValidateName(cmds.user, "user"); };
  if (cmds.users_add->parsed()) {
    if (Status s = check_user(); !s.ok()) return Fail(s);
    if (Status s = c.Call(msg::UserAdd{cmds.user}); !s.ok()) return Fail(s);
    std::cout << "added user " << cmds.user << "; enroll a key: rv keys:add " << cmds.user << " FILE.pub\n";
    return 0;
  }
  if (cmds.users->parsed()) {
    msg::UserListing l;
    if (Status s = c.Call(msg::UserListRequest{}, &l); !s.ok()) return Fail(s);
    Table t({"USER", "KEYS", "ACCESS", "CREATED"});
    for (const auto& u : l.users) {
      std::string access;
      for (const auto& g : u.access) access += (access.empty() ? "" : ",") + g.env + (g.write ? "" : "(read-only)");
      t.Add({u.user, std::to_string(u.keys), access.empty() ? "-" : access, DateTime(u.created_ms)});
    }
    t.Print(std::cout);
    return 0;
  }
  if (cmds.keys_add->parsed()) {
    if (Status s = check_user(); !s.ok()) return Fail(s);
    std::ifstream in(cmds.file, std::ios::binary);
    if (!in) return Fail(Status::NotFound("cannot read " + cmds.file));
    std::string text(16 * 1024 * 2 + 2, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    msg::KeyInfo k;
    if (Status s = c.Call(msg::KeyAdd{cmds.user, text}, &k); !s.ok()) return Fail(s);
    std::cout << "added key " << k.fingerprint << " (" << k.type << (k.comment.empty() ? "" : ", " + k.comment)
              << ") to " << cmds.user << "\n";
    return 0;
  }
  if (cmds.keys_remove->parsed()) {
    if (Status s = check_user(); !s.ok()) return Fail(s);
    if (Status s = c.Call(msg::KeyRemove{cmds.user, cmds.fingerprint}); !s.ok()) return Fail(s);
    std::cout << "removed key " << cmds.fingerprint << " of " << cmds.user << "\n";
    return 0;
  }
  if (cmds.keys->parsed()) {
    if (Status s = check_user(); !s.ok()) return Fail(s);
    msg::KeyListing l;
    if (Status s = c.Call(msg::KeyListRequest{cmds.user}, &l); !s.ok()) return Fail(s);
    Table t({"FINGERPRINT", "TYPE", "COMMENT", "ADDED"});
    for (const auto& k : l.keys) t.Add({k.fingerprint, k.type, k.comment.empty() ? "-" : k.comment, DateTime(k.created_ms)});
    t.Print(std::cout);
    return 0;
  }
  if (cmds.apps_create->parsed()) {
    if (Status s = names::ValidateEnvRef(cmds.env); !s.ok()) return Fail(s);
    if (auto r = names::ParseAppRef(cmds.env + "/" + cmds.app); !r.ok()) return Fail(r.status());
    msg::AppInfo a;
    if (Status s = c.Call(msg::AppCreate{cmds.env, cmds.app, cmds.branch}, &a); !s.ok()) return Fail(s);
    std::cout << "created app " << a.tenant << "/" << a.env << "/" << a.app << " (deploys branch " << a.deploy_branch
              << ")\n";
    std::string base = GitBaseUrl(cmds.git_url, c.config().pod_dir);
    if (base.empty()) {
      std::cout << "git server URL unknown (no --git-url, $RV_GIT_URL or " << c.config().pod_dir
                << "/gitrecv/url); the remote is BASE/" << a.tenant << "/" << a.env << "/" << a.app << ".git\n";
    } else {
      std::cout << "git remote add rv " << GitRemoteUrl(base, a) << "\n";
    }
    std::cout << "then: git push rv " << a.deploy_branch << "\n";
    return 0;
  }
  if (cmds.apps_destroy->parsed()) {
    if (auto r = names::ParseAppRef(cmds.app); !r.ok()) return Fail(r.status());
    if (Status s = c.Call(msg::AppDestroy{cmds.app}); !s.ok()) return Fail(s);
    std::cout << "destroyed app " << cmds.app << " (its git repository stays on the git server's disk)\n";
    return 0;
  }
  if (cmds.apps->parsed()) {
    if (!cmds.env.empty()) {
      if (Status s = names::ValidateEnvRef(cmds.env); !s.ok()) return Fail(s);
    }
    msg::AppListing l;
    if (Status s = c.Call(msg::AppListRequest{cmds.env}, &l); !s.ok()) return Fail(s);
    std::string base = GitBaseUrl(cmds.git_url, c.config().pod_dir);
    Table t({"APP", "BRANCH", "GIT URL", "CREATED"});
    for (const auto& a : l.apps) {
      t.Add({a.tenant + "/" + a.env + "/" + a.app, a.deploy_branch, base.empty() ? "-" : GitRemoteUrl(base, a),
             DateTime(a.created_ms)});
    }
    t.Print(std::cout);
    return 0;
  }
  if (cmds.grant->parsed() || cmds.revoke->parsed()) {
    if (Status s = check_user(); !s.ok()) return Fail(s);
    if (Status s = names::ValidateEnvRef(cmds.env); !s.ok()) return Fail(s);
    if (cmds.grant->parsed()) {
      if (Status s = c.Call(msg::AccessGrant{cmds.user, cmds.env, !cmds.read_only}); !s.ok()) return Fail(s);
      std::cout << cmds.user << (cmds.read_only ? " may clone and fetch " : " may push to and clone ") << "the apps of "
                << cmds.env << "\n";
    } else {
      if (Status s = c.Call(msg::AccessRevoke{cmds.user, cmds.env}); !s.ok()) return Fail(s);
      std::cout << cmds.user << " has no access to " << cmds.env << " any more\n";
    }
    return 0;
  }
  return -1;
}

}  // namespace rv::cli
