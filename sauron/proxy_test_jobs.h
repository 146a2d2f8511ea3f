// Test helper for the proxy views' tests (proxy_routes_test, proxy_notices_test):
// a placed job of env acme/prod (by default) as sauron's store would list it.
// Header-only, tests only.
#pragma once

#include <string>

#include "common/msg/types.h"

namespace rv::sauron::testing {

// A placed job, attempt 1: a web replica of app web1 on port 8080, or with
// kind "proxy" an env proxy on port 20443.
inline msg::JobRecord PlacedJob(const std::string& id, const std::string& host, const std::string& kind = "deploy",
                                const std::string& run_state = "running", const std::string& env = "acme/prod") {
  msg::JobRecord r;
  r.spec.id = id;
  r.spec.kind = kind;
  r.spec.env = env;
  r.spec.app = "web1";
  r.spec.image = "acme/web1:v1";
  r.spec.port = kind == "proxy" ? 20443 : 8080;
  r.state = "placed";
  r.attempt = 1;
  r.host_id = host;
  r.run_state = run_state;
  return r;
}

}  // namespace rv::sauron::testing
