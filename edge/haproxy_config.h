// The edge's HAProxy configuration, rendered from sauron's edge.routes
// (docs/PROXY.md, "Edge"). Pure: same input, same text.
//
// Contract:
//  * HTTPS port: TCP mode, never decrypts. It waits up to 5 s for a TLS
//    ClientHello and routes by its SNI (exact, lower-case) to the backend of
//    the name's environment, whose servers are that env's proxy endpoints,
//    each sent a PROXY protocol v2 header (the client's address) first. A
//    connection that is not TLS, has no SNI, or names no known name is
//    rejected (closed before any byte is answered).
//  * HTTP port: a known Host gets a 301 to https://HOST[:public_https_port]/...;
//    an unknown one a 404 page saying no app answers at that name.
//  * Nothing else listens: no stats page, no runtime socket (the master
//    socket is a unix socket in the edge's own directory, mode 600).
//  * Names and endpoints come from sauron and are checked again here: a name
//    that is not a lower-case DNS name or an endpoint that is not ADDR:PORT
//    is left out (and counted in `skipped`), so no input can inject config.
#pragma once

#include <string>
#include <vector>

#include "common/msg/proxy.h"

namespace rv::edge {

struct EdgeOptions {
  std::string listen = "127.0.0.1";  // the pod's public address
  int http_port = 80;
  int https_port = 443;
  int public_https_port = 443;        // what redirects name (":443" is left out)
  int max_conn = 4096;                // HAProxy needs ~2 fds per connection under the process limit
  int hard_stop_after_s = 60;         // an old worker's established connections get this long after a reload
};

struct RenderedConfig {
  std::string text;
  int skipped = 0;  // names or endpoints refused as malformed
};

RenderedConfig RenderHaproxyConfig(const EdgeOptions& opts, const msg::EdgeRoutes& routes);

// The backend of an environment ("acme/prod" -> "env_acme.prod"): env names
// hold no '.', so the mapping is one-to-one.
std::string BackendName(const std::string& env);

// The 404 page's body.
extern const char kUnknownNamePage[];

}  // namespace rv::edge
