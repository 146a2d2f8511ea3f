// The edge's HAProxy configuration, rendered from sauron's edge.routes
// (docs/PROXY.md, "Edge"). Pure: same input, same text.
//
// Contract:
//  * Two texts: the config and the names map (one "NAME BACKEND" line per
//    name, sorted), which HAProxy reads from `EdgeOptions::names_map` when it
//    loads the config. The config names no name: it does not grow with them,
//    and a connection costs a map lookup, not a rule per environment.
//  * HTTPS port: TCP mode, never decrypts. It waits up to 5 s for a TLS
//    ClientHello and routes by its SNI (exact, lower-cased) through the map to
//    the backend of the name's environment, whose servers are that env's
//    proxy endpoints, each sent a PROXY protocol v2 header (the client's
//    address) first. A connection that is not TLS, has no SNI, or names no
//    name in the map is rejected (closed before any byte is answered).
//  * HTTP port: a Host in the map gets a 301 to
//    https://HOST[:public_https_port]/...; any other a 404 page saying no app
//    answers at that name.
//  * Nothing else listens: no stats page, no runtime socket (the master
//    socket is a unix socket in the edge's own directory, mode 600).
//  * Names and endpoints come from sauron and are checked again here: a name
//    that is not a lower-case DNS name or an endpoint that is not ADDR:PORT
//    is left out (and counted in `skipped`), so no input can inject config
//    or a map line. Every backend the map names is defined in the config.
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
  // Required: where HAProxy reads the names map (HaproxyProcess::names_map_path(),
  // an absolute path with no space, ',' or ')'; else `haproxy -c` refuses).
  std::string names_map;
};

struct RenderedConfig {
  std::string text;       // haproxy.cfg
  std::string names_map;  // the map file: "NAME BACKEND\n" per name, sorted by name
  int skipped = 0;  // names or endpoints refused as malformed
};

RenderedConfig RenderHaproxyConfig(const EdgeOptions& opts, const msg::EdgeRoutes& routes);

// The backend of an environment ("acme/prod" -> "env_acme.prod"): env names
// hold no '.', so the mapping is one-to-one.
std::string BackendName(const std::string& env);

// The 404 page's body.
extern const char kUnknownNamePage[];

}  // namespace rv::edge
