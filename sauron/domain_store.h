// DomainStore: every app's DNS names and each name's certificate, with the
// private key encrypted at rest (docs/PROXY.md, "Names and certificates").
//
// Contract:
//  * Its own SQLite connection to sauron's database file (table domains: one
//    row per name: the app and env it belongs to, whether it is the app's
//    default name, and its certificate). A name belongs to at most one app
//    (the primary key); every change is one statement or transaction.
//  * Private keys are stored only as secretbox ciphertext under the pod's
//    secrets key (common/crypto/secretbox.h), over "domain-key\0NAME\0PEM",
//    so a row copied to another name does not decrypt there. Key() is the only
//    way out, and its result is the caller's to wipe. Nothing here logs a key
//    or puts one in a message.
//  * Callers validate names (sauron/domain_names.h) before they come here.
//  * Not thread-safe: the daemon's loop owns it.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/crypto/secretbox.h"
#include "common/msg/proxy.h"
#include "common/names.h"
#include "common/status.h"

namespace rv::sauron {

// A name and its certificate, without the key.
struct DomainRow {
  std::string name;
  std::string app;      // TENANT/ENV/APP
  std::string env;      // TENANT/ENV
  bool is_default = false;
  std::string cert_pem;  // "" until one is issued or installed
  int64_t not_after_ms = 0;
  bool custom = false;
  std::string issuer;    // the certificate issuer's DN
  int64_t updated_ms = 0;
};

class DomainStore {
 public:
  static constexpr size_t kMaxNamesPerApp = 100;

  static Result<std::unique_ptr<DomainStore>> Open(const std::string& db_path, crypto::SecretBoxKey key);
  ~DomainStore();
  DomainStore(const DomainStore&) = delete;
  DomainStore& operator=(const DomainStore&) = delete;

  // True if added, false if `app` already had it; Conflict (naming the
  // owner) if another app has it.
  Result<bool> AddName(const std::string& name, const names::AppRef& app, bool is_default, int64_t now_ms);
  // NotFound if `app` has no such name; a default name is not removable.
  Status RemoveName(const std::string& name, const names::AppRef& app);
  // Drops `app`'s default names other than `keep` (the pod domain changed);
  // returns how many.
  Result<int> DropOtherDefaults(const names::AppRef& app, const std::string& keep);
  // Every name of `app` (with its certificate) is dropped; returns the names.
  Result<std::vector<std::string>> RemoveApp(const names::AppRef& app);
  // Stores a certificate and its key for an existing name (NotFound if none).
  Status PutCert(const std::string& name, const std::string& cert_pem, const std::string& key_pem,
                 int64_t not_after_ms, bool custom, const std::string& issuer, int64_t now_ms);

  Result<std::optional<DomainRow>> Find(const std::string& name);
  // app "" = every name; by name.
  Result<std::vector<DomainRow>> List(const std::string& app = "");
  Result<std::vector<DomainRow>> ForEnv(const std::string& env);
  // The name's private key PEM; wipe it after use.
  Result<std::string> Key(const std::string& name);

 private:
  DomainStore(sqlite3* db, crypto::SecretBoxKey key) : db_(db), key_(std::move(key)) {}
  Status Init();
  Result<std::vector<DomainRow>> Query(const char* where, const std::string& arg);

  sqlite3* db_;
  crypto::SecretBoxKey key_;
};

}  // namespace rv::sauron
