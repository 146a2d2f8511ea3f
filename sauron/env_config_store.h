// EnvConfigStore: every environment's config vars and secrets, encrypted at
// rest, and their delivery form (sealed to one host).
//
// Contract:
//  * Values are stored only as secretbox ciphertext (common/crypto/secretbox.h)
//    under the pod's master key (a 0600 file, created on first start; see
//    docs/SAURON.md for backing it up). The plaintext that is encrypted is
//    "env\0name\0value", and Decrypt checks the prefix, so a row copied to
//    another env or name does not decrypt there. Names and the secret flag are
//    stored in clear; plain (non-secret) vars are encrypted too.
//  * List() never returns a secret's value. Only SealFor() (the delivery to a
//    host) decrypts secrets, and the plaintext it builds is wiped before it
//    returns. No method logs a value or puts one in an error message.
//  * Its own SQLite connection to sauron's database file (table env_config);
//    every Set/Unset is one transaction (all names or none).
//  * Not thread-safe: the daemon's loop owns it.
#pragma once

#include <sqlite3.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/crypto/sealed_box.h"
#include "common/crypto/secretbox.h"
#include "common/msg/env_config.h"
#include "common/status.h"

namespace rv::sauron {

class EnvConfigStore {
 public:
  static constexpr size_t kMaxValueBytes = 32 * 1024;
  static constexpr size_t kMaxVarsPerEnv = 512;

  // Opens the table in the SQLite file at `db_path` (creating it if needed).
  static Result<std::unique_ptr<EnvConfigStore>> Open(const std::string& db_path, crypto::SecretBoxKey key);
  ~EnvConfigStore();
  EnvConfigStore(const EnvConfigStore&) = delete;
  EnvConfigStore& operator=(const EnvConfigStore&) = delete;

  // Sets (or overwrites) `vars` in `env`. Invalid names/values refuse the whole
  // request. A secret overwritten as plain (or the reverse) takes the new flag.
  Status Set(const std::string& env, const std::map<std::string, std::string>& vars, bool secret, int64_t now_ms);
  // Removes `names` from `env`; names that are not set are ignored.
  Status Unset(const std::string& env, const std::vector<std::string>& names);
  // Names in order; plain vars with their values, secrets without.
  Result<std::vector<msg::ConfigVar>> List(const std::string& env);
  // Every var of `env`, decrypted (for tests and sealing; the result wipes itself).
  Result<crypto::SecretEnv> Resolve(const std::string& env);
  // `env`'s vars sealed (crypto_box_seal) to the host whose CURVE public key is
  // `host_key_z85`; "" when `env` has no vars.
  Result<std::string> SealFor(const std::string& env, const std::string& host_key_z85);
  // True when `env` has at least one var (in memory, no query).
  bool HasVars(const std::string& env) const { return envs_.count(env) > 0; }
  bool empty() const { return envs_.empty(); }

  static Status ValidateEnv(const std::string& env);
  static Status ValidateName(const std::string& name);

 private:
  EnvConfigStore(sqlite3* db, crypto::SecretBoxKey key) : db_(db), key_(std::move(key)) {}
  Status Init();
  Status Exec(const char* sql);
  std::string Seal(const std::string& env, const std::string& name, const std::string& value) const;

  sqlite3* db_;
  crypto::SecretBoxKey key_;
  std::set<std::string> envs_;  // environments with at least one var
};

}  // namespace rv::sauron
