// Messages of an environment's config vars and secrets (Heroku's config:set).
//
//   rv (CLI) --DEALER--> sauron ROUTER   admin.config_set, admin.config_unset, admin.config_list
//
// Values travel only inside the CURVE-encrypted admin connection and are stored
// encrypted at rest (sauron/env_config_store.h). A listing never carries the
// value of a secret: `value` is empty and `secret` is true. Delivery to a host
// is separate: the job.claim reply (Outcome.sealed_env) and host.welcome
// (HostWelcome.sealed_envs) carry the environment's vars sealed to the
// claiming host's key.
#pragma once

#include "common/msg/types.h"

namespace rv::msg {

struct ConfigSet {                  // reply: ok or error
  static constexpr const char* kType = "admin.config_set";
  std::string env;
  std::map<std::string, std::string> vars;
  bool secret = false;              // true: never shown again, masked in listings
  RV_DEFINE_MAP(env, vars, secret);
};
struct ConfigUnset {                // reply: ok (names that were not set are ignored)
  static constexpr const char* kType = "admin.config_unset";
  std::string env;
  std::vector<std::string> names;
  RV_DEFINE_MAP(env, names);
};
struct ConfigListRequest {          // reply payload: ConfigListing
  static constexpr const char* kType = "admin.config_list";
  std::string env;
  RV_DEFINE_MAP(env);
};
struct ConfigVar {
  std::string name;
  bool secret = false;
  std::string value;                // "" for secrets
  int64_t updated_ms = 0;
  RV_DEFINE_MAP(name, secret, value, updated_ms);
};
struct ConfigListing {
  static constexpr const char* kType = "config_listing";
  std::string env;
  std::vector<ConfigVar> vars;      // ordered by name
  RV_DEFINE_MAP(env, vars);
};

}  // namespace rv::msg
